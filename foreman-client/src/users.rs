//! Users: find by login, show, create, change password, and set roles, knowing that
//! `role_ids` replaces the whole list and that Foreman adds its built-in "Default role" back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Secret;
use crate::catalog::find_unique;
use crate::client::{Call, ForemanClient};
use crate::de;
use crate::error::{DecodeError, Error, RequestLabel, decode_json};
use crate::pagination::{ListCall, ListRequest, PerPage};
use crate::request::{ApiRequest, Endpoint, Identifier, Search, api_path};
use crate::roles::Reference;

/// The name of the role Foreman gives every user and puts back after any change of roles.
pub const DEFAULT_ROLE: &str = "Default role";

/// A user as Foreman shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct User {
    /// Foreman id.
    pub id: u64,
    /// The login.
    pub login: String,
    /// First name.
    #[serde(default)]
    pub firstname: Option<String>,
    /// Last name.
    #[serde(default)]
    pub lastname: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub mail: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the user is an administrator.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub admin: Option<bool>,
    /// Whether the account is disabled (Foreman 1.24 and later).
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub disabled: Option<bool>,
    /// Authentication source id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub auth_source_id: Option<u64>,
    /// Authentication source name (`Internal`).
    #[serde(default)]
    pub auth_source_name: Option<String>,
    /// Roles (show only). Foreman 2.x and later leave the built-in "Default role" out.
    #[serde(default)]
    pub roles: Option<Vec<Reference>>,
    /// User groups the user is a direct member of (show only).
    #[serde(default)]
    pub usergroups: Option<Vec<Reference>>,
    /// Locations (show only).
    #[serde(default)]
    pub locations: Option<Vec<Reference>>,
    /// Organizations (show only).
    #[serde(default)]
    pub organizations: Option<Vec<Reference>>,
    /// Last login time.
    #[serde(default)]
    pub last_login_on: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl User {
    /// Ids of the roles given to the user, without the built-in "Default role"; `None` when
    /// the answer did not list roles (index views do not).
    #[must_use]
    pub fn assigned_role_ids(&self) -> Option<BTreeSet<u64>> {
        let roles = self.roles.as_ref()?;
        Some(
            roles
                .iter()
                .filter(|r| r.name.as_deref() != Some(DEFAULT_ROLE))
                .map(|r| r.id)
                .collect(),
        )
    }
}

/// A user in a user group's member list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserRef {
    /// Foreman id.
    pub id: u64,
    /// The login.
    #[serde(default)]
    pub login: Option<String>,
}

/// A user to create.
///
/// ```
/// use foreman_client::users::NewUser;
///
/// let user = NewUser::new("cloud02", "cloud02@example.com", "rdu2@12345").roles([7]);
/// assert!(!format!("{user:?}").contains("rdu2@12345"));
/// let body = user.to_json();
/// assert_eq!(body["user"]["login"], "cloud02");
/// assert_eq!(body["user"]["auth_source_id"], 1);
/// assert_eq!(body["user"]["role_ids"], serde_json::json!([7]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The login.
    pub login: String,
    /// E-mail address (Foreman requires one).
    pub mail: String,
    /// The password.
    pub password: Secret,
    /// Authentication source, by id or name; the default, id 1, is Foreman's internal source
    /// on a standard installation.
    pub auth_source: Identifier,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Roles to give (Foreman adds "Default role" itself).
    pub role_ids: Vec<u64>,
    /// Locations.
    pub location_ids: Vec<u64>,
    /// Organizations.
    pub organization_ids: Vec<u64>,
    /// Default location.
    pub default_location_id: Option<u64>,
    /// Default organization.
    pub default_organization_id: Option<u64>,
}

impl NewUser {
    /// A user of the internal authentication source.
    pub fn new(
        login: impl Into<String>,
        mail: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Self {
            login: login.into(),
            mail: mail.into(),
            password: password.into(),
            auth_source: Identifier::Id(1),
            firstname: None,
            lastname: None,
            description: None,
            role_ids: Vec::new(),
            location_ids: Vec::new(),
            organization_ids: Vec::new(),
            default_location_id: None,
            default_organization_id: None,
        }
    }

    /// Sets the roles.
    #[must_use]
    pub fn roles(mut self, role_ids: impl IntoIterator<Item = u64>) -> Self {
        self.role_ids = role_ids.into_iter().collect();
        self
    }

    /// The request body. It holds the password.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut user = Map::new();
        user.insert("login".into(), json!(self.login));
        user.insert("mail".into(), json!(self.mail));
        user.insert("password".into(), json!(self.password.expose()));
        match &self.auth_source {
            Identifier::Id(id) => user.insert("auth_source_id".into(), json!(id)),
            Identifier::Name(name) => user.insert("auth_source_name".into(), json!(name)),
        };
        for (key, value) in [
            ("firstname", &self.firstname),
            ("lastname", &self.lastname),
            ("description", &self.description),
        ] {
            if let Some(value) = value {
                user.insert(key.into(), json!(value));
            }
        }
        for (key, ids) in [
            ("role_ids", &self.role_ids),
            ("location_ids", &self.location_ids),
            ("organization_ids", &self.organization_ids),
        ] {
            if !ids.is_empty() {
                user.insert(key.into(), json!(ids));
            }
        }
        for (key, id) in [
            ("default_location_id", self.default_location_id),
            ("default_organization_id", self.default_organization_id),
        ] {
            if let Some(id) = id {
                user.insert(key.into(), json!(id));
            }
        }
        json!({ "user": user })
    }
}

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// It may.
    Enabled,
    /// It may not (Foreman 1.24 and later).
    Disabled,
}

/// A change to any subset of a user's settings, in one `PUT /api/users/:id`.
///
/// `role_ids` replaces the whole list of roles (Foreman then adds "Default role" back).
///
/// ```
/// use foreman_client::users::UserUpdate;
///
/// let change = UserUpdate::new().password("n3w-pass").role_ids([3, 4]);
/// assert!(!format!("{change:?}").contains("n3w-pass"));
/// assert_eq!(change.to_json()["user"]["role_ids"], serde_json::json!([3, 4]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    password: Option<Secret>,
    mail: Option<String>,
    role_ids: Option<Vec<u64>>,
    location_ids: Option<Vec<u64>>,
    organization_ids: Option<Vec<u64>>,
    account: Option<AccountState>,
}

impl UserUpdate {
    /// No change yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the password (an administrator changing another user's password needs no current
    /// password).
    #[must_use]
    pub fn password(mut self, password: impl Into<Secret>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Sets the e-mail address.
    #[must_use]
    pub fn mail(mut self, mail: impl Into<String>) -> Self {
        self.mail = Some(mail.into());
        self
    }

    /// Replaces the whole list of roles.
    #[must_use]
    pub fn role_ids(mut self, role_ids: impl IntoIterator<Item = u64>) -> Self {
        self.role_ids = Some(role_ids.into_iter().collect());
        self
    }

    /// Replaces the locations.
    #[must_use]
    pub fn location_ids(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.location_ids = Some(ids.into_iter().collect());
        self
    }

    /// Replaces the organizations.
    #[must_use]
    pub fn organization_ids(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.organization_ids = Some(ids.into_iter().collect());
        self
    }

    /// Enables or disables the account.
    #[must_use]
    pub fn account(mut self, state: AccountState) -> Self {
        self.account = Some(state);
        self
    }

    /// The request body. It may hold the password.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut user = Map::new();
        if let Some(password) = &self.password {
            user.insert("password".into(), json!(password.expose()));
        }
        if let Some(mail) = &self.mail {
            user.insert("mail".into(), json!(mail));
        }
        for (key, ids) in [
            ("role_ids", &self.role_ids),
            ("location_ids", &self.location_ids),
            ("organization_ids", &self.organization_ids),
        ] {
            if let Some(ids) = ids {
                user.insert(key.into(), json!(ids));
            }
        }
        if let Some(state) = self.account {
            user.insert("disabled".into(), json!(state == AccountState::Disabled));
        }
        json!({ "user": user })
    }
}

/// `GET /api/users/:id` (id or login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowUser {
    user: Identifier,
}

impl ShowUser {
    /// The user by id or login.
    pub fn new(user: impl Into<Identifier>) -> Self {
        Self { user: user.into() }
    }
}

impl Endpoint for ShowUser {
    type Output = User;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["users", &self.user.segment()]))
    }

    fn parse(&self, body: &[u8]) -> Result<User, DecodeError> {
        decode_json(body)
    }
}

/// `GET /api/current_user`: who the client is logged in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShowCurrentUser;

impl Endpoint for ShowCurrentUser {
    type Output = User;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["current_user"]))
    }

    fn parse(&self, body: &[u8]) -> Result<User, DecodeError> {
        decode_json(body)
    }
}

/// `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateUser {
    user: NewUser,
}

impl CreateUser {
    /// Creates `user`.
    #[must_use]
    pub fn new(user: NewUser) -> Self {
        Self { user }
    }
}

impl Endpoint for CreateUser {
    type Output = User;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(http::Method::POST, api_path(&["users"]))
            .json(self.user.to_json())
            .with_secret(self.user.password.clone())
    }

    fn parse(&self, body: &[u8]) -> Result<User, DecodeError> {
        decode_json(body)
    }
}

/// `PUT /api/users/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateUser {
    user: Identifier,
    changes: UserUpdate,
}

impl UpdateUser {
    /// Applies `changes` to the user (id or login).
    pub fn new(user: impl Into<Identifier>, changes: UserUpdate) -> Self {
        Self {
            user: user.into(),
            changes,
        }
    }
}

impl Endpoint for UpdateUser {
    type Output = User;

    fn request(&self) -> ApiRequest {
        let request = ApiRequest::new(
            http::Method::PUT,
            api_path(&["users", &self.user.segment()]),
        )
        .json(self.changes.to_json());
        match &self.changes.password {
            Some(password) => request.with_secret(password.clone()),
            None => request,
        }
    }

    fn parse(&self, body: &[u8]) -> Result<User, DecodeError> {
        decode_json(body)
    }
}

/// `DELETE /api/users/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteUser {
    user: Identifier,
}

impl DeleteUser {
    /// Deletes the user (id or login).
    pub fn new(user: impl Into<Identifier>) -> Self {
        Self { user: user.into() }
    }
}

impl Endpoint for DeleteUser {
    type Output = ();

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::DELETE,
            api_path(&["users", &self.user.segment()]),
        )
    }

    fn parse(&self, _body: &[u8]) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// The request that finds a user by login.
///
/// # Errors
/// [`Error::InvalidInput`] when the login cannot be searched for.
pub fn find_request(login: &str) -> Result<ListRequest<User>, Error> {
    Ok(ListRequest::new(api_path(&["users"]))
        .search(Search::eq("login", login)?)
        .per_page(PerPage::All))
}

/// The user endpoints of a client: `client.users()`.
#[derive(Debug, Clone, Copy)]
pub struct Users<'c> {
    client: &'c ForemanClient,
}

impl ForemanClient {
    /// Users.
    #[must_use]
    pub fn users(&self) -> Users<'_> {
        Users { client: self }
    }
}

impl<'c> Users<'c> {
    /// Lists users.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let clouds = client.users().list().search("login ~ cloud").all().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCall<'c, User> {
        ListCall::new(self.client, ListRequest::new(api_path(&["users"])))
    }

    /// The user with this login (compared without case, as Foreman does), if any.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// if client.users().find_by_login("cloud02").await?.is_none() { /* create it */ }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] of the request.
    pub async fn find_by_login(&self, login: &str) -> Result<Option<User>, Error> {
        let request = find_request(login)?;
        find_unique(
            self.client,
            &request,
            "user",
            login,
            |u: &User| u.login.eq_ignore_ascii_case(login),
            |u: &User| (u.id, u.login.clone()),
        )
        .await
    }

    /// Shows a user, by id or login, with roles and groups.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let user = client.users().show("cloud02").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn show(&self, user: impl Into<Identifier>) -> Call<'c, ShowUser> {
        Call::new(self.client, ShowUser::new(user))
    }

    /// Shows the user the client is logged in as.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let me = client.users().current().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn current(&self) -> Call<'c, ShowCurrentUser> {
        Call::new(self.client, ShowCurrentUser)
    }

    /// Creates a user.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::users::NewUser;
    /// let user = client.users().create(NewUser::new("cloud02", "cloud02@example.com", "rdu2@1234")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, user: NewUser) -> Call<'c, CreateUser> {
        Call::new(self.client, CreateUser::new(user))
    }

    /// Updates any subset of a user's settings.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::users::{AccountState, UserUpdate};
    /// client.users().update(12, UserUpdate::new().account(AccountState::Disabled)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, user: impl Into<Identifier>, changes: UserUpdate) -> Call<'c, UpdateUser> {
        Call::new(self.client, UpdateUser::new(user, changes))
    }

    /// Sets a user's password.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// client.users().set_password(12, "rdu2@12345").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn set_password(
        &self,
        user: impl Into<Identifier>,
        password: impl Into<Secret>,
    ) -> Call<'c, UpdateUser> {
        self.update(user, UserUpdate::new().password(password))
    }

    /// Deletes a user.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// client.users().delete("cloud02").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, user: impl Into<Identifier>) -> Call<'c, DeleteUser> {
        Call::new(self.client, DeleteUser::new(user))
    }

    /// Gives the user exactly `role_ids` (plus Foreman's "Default role", which Foreman adds
    /// itself), in one request, and checks the answer: the roles Foreman shows, without
    /// "Default role", must be `role_ids`. Writes to one user never overlap within this client.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let role = client.roles().find_by_name("cloud02").await?.expect("role exists");
    /// client.users().set_roles(12, [role.id]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] of the request; [`Error::Inconsistent`] when the answer shows other roles.
    pub async fn set_roles(
        &self,
        user: impl Into<Identifier>,
        role_ids: impl IntoIterator<Item = u64>,
    ) -> Result<User, Error> {
        let user = user.into();
        let wanted: BTreeSet<u64> = role_ids.into_iter().collect();
        let update = UpdateUser::new(&user, UserUpdate::new().role_ids(wanted.iter().copied()));
        let _write = self
            .client
            .write_locks()
            .lock(&format!("user:{user}"))
            .await;
        let updated = self.client.execute(&update).await?;
        check_roles(self.client, &update, &updated, &wanted)?;
        Ok(updated)
    }

    /// Like [`Users::set_roles`], but reads the user first and writes only when its roles
    /// (without "Default role") differ from `role_ids`. Returns the user and whether it was
    /// written.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let (user, written) = client.users().ensure_roles("cloud02", [7]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As for [`Users::set_roles`].
    pub async fn ensure_roles(
        &self,
        user: impl Into<Identifier>,
        role_ids: impl IntoIterator<Item = u64>,
    ) -> Result<(User, bool), Error> {
        let user = user.into();
        let wanted: BTreeSet<u64> = role_ids.into_iter().collect();
        let current = self.client.execute(&ShowUser::new(&user)).await?;
        if current.assigned_role_ids().as_ref() == Some(&wanted) {
            return Ok((current, false));
        }
        let updated = self.set_roles(current.id, wanted).await?;
        Ok((updated, true))
    }
}

fn check_roles(
    client: &ForemanClient,
    update: &UpdateUser,
    updated: &User,
    wanted: &BTreeSet<u64>,
) -> Result<(), Error> {
    let Some(shown) = updated.assigned_role_ids() else {
        return Ok(());
    };
    if &shown == wanted {
        return Ok(());
    }
    let request = update.request();
    let url = client.url().join(&request.path_and_query());
    Err(RequestLabel {
        method: &request.method,
        url: &url,
        secrets: &[],
    }
    .inconsistent(format!(
        "asked for roles {wanted:?} but Foreman shows {shown:?} (besides \"{DEFAULT_ROLE}\")"
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn requests() {
        let r = find_request("cloud02").unwrap().request();
        assert_eq!(
            r.path_and_query(),
            "/api/users?search=login%20%3D%20%22cloud02%22&per_page=all"
        );
        assert_eq!(
            ShowUser::new("cloud02").request().path,
            "/api/users/cloud02"
        );
        assert_eq!(ShowCurrentUser.request().path, "/api/current_user");
        let create = CreateUser::new(NewUser::new("c", "c@x", "pw-1")).request();
        assert_eq!(
            (create.method.as_str(), create.path.as_str()),
            ("POST", "/api/users")
        );
        assert_eq!(create.body_secrets, vec![Secret::new("pw-1")]);
        let body = create.body.unwrap();
        assert_eq!(
            body,
            json!({"user": {"login": "c", "mail": "c@x", "password": "pw-1", "auth_source_id": 1}})
        );
        let update = UpdateUser::new(5, UserUpdate::new().password("pw-2")).request();
        assert_eq!(
            (update.method.as_str(), update.path.as_str()),
            ("PUT", "/api/users/5")
        );
        assert_eq!(update.body.unwrap(), json!({"user": {"password": "pw-2"}}));
        assert_eq!(update.body_secrets, vec![Secret::new("pw-2")]);
        let delete = DeleteUser::new(5).request();
        assert_eq!(delete.method, http::Method::DELETE);
    }

    #[test]
    fn new_user_options() {
        let mut user = NewUser::new("c", "c@x", "p");
        user.auth_source = Identifier::from("Internal");
        user.firstname = Some("Cloud".into());
        user.location_ids = vec![2];
        user.default_organization_id = Some(1);
        let body = user.to_json();
        assert_eq!(body["user"]["auth_source_name"], "Internal");
        assert!(body["user"].get("auth_source_id").is_none());
        assert_eq!(body["user"]["firstname"], "Cloud");
        assert_eq!(body["user"]["location_ids"], json!([2]));
        assert_eq!(body["user"]["default_organization_id"], 1);
        assert!(body["user"].get("role_ids").is_none());
        let disable = UserUpdate::new()
            .account(AccountState::Disabled)
            .mail("m@x");
        assert_eq!(
            disable.to_json(),
            json!({"user": {"mail": "m@x", "disabled": true}})
        );
    }

    #[test]
    fn default_role_is_not_an_assigned_role() {
        let user: User = serde_json::from_str(
            r#"{"id":1,"login":"c","roles":[{"id":2,"name":"Default role"},{"id":7,"name":"cloud02"}]}"#,
        )
        .unwrap();
        assert_eq!(user.assigned_role_ids(), Some(BTreeSet::from([7])));
        let listed: User = serde_json::from_str(r#"{"id":1,"login":"c"}"#).unwrap();
        assert_eq!(listed.assigned_role_ids(), None);
    }
}
