//! Users, roles, filters and user groups: Foreman's RBAC records, with its rules for writes.
//!
//! Users: `role_ids` (or `role_names`) replaces the whole list and "Default role" is always added
//! back; a user showing or editing itself (by id or login) needs no user permission but cannot
//! change its roles, and must give `current_password` to change its password. Roles seeded by Foreman
//! are locked. A filter's permissions must share one resource type and its search must be valid
//! for that resource. A user group's `user_ids`, `usergroup_ids` and `role_ids` replace the lists:
//! Foreman's API has no call that adds one member (clients read the list and write it back).

use std::collections::BTreeSet;

use http::StatusCode;
use serde_json::{Map, Value};

use super::api::{Handler, as_bool, as_id, as_ids, as_text, find_by_key, resolve_ids};
use super::db::{Filter, Id, Role, User, Usergroup, numeric_id};
use super::errors::{ApiError, FieldError, INTERNAL_ERROR};
use super::fields::check_for_resource;
use super::routes::{Collection, Nest};
use super::views;

/// User attributes accepted without the `user` wrapper.
const USER_ATTRIBUTES: &[&str] = &[
    "login",
    "firstname",
    "lastname",
    "mail",
    "description",
    "admin",
    "password",
    "password_confirmation",
    "current_password",
    "auth_source_id",
    "role_ids",
    "role_names",
    "disabled",
    "mail_enabled",
    "locale",
    "timezone",
];

const ROLE_ATTRIBUTES: &[&str] = &["name", "description", "location_ids", "organization_ids"];

const FILTER_ATTRIBUTES: &[&str] = &[
    "role_id",
    "search",
    "override",
    "permission_ids",
    "location_ids",
    "organization_ids",
];

const USERGROUP_ATTRIBUTES: &[&str] = &["name", "admin", "user_ids", "usergroup_ids", "role_ids"];

fn login_is_valid(login: &str) -> bool {
    login
        .chars()
        .all(|c| c.is_alphanumeric() || "_-@.\\$#+".contains(c))
}

fn name_is_valid(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "'_-.()<>;=,".contains(c))
}

fn mail_is_valid(mail: &str) -> bool {
    let mut parts = mail.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !mail.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

impl Handler<'_, '_, '_> {
    /// A record of a parent route, visible with `permission`, or `{"message": "<Parent> not
    /// found by id 'x'"}`.
    fn parent<'r, R: super::search::Searchable>(
        &self,
        records: &'r [R],
        key: &str,
        permission: &str,
        parent: &'static str,
        id: impl Fn(&R) -> Id,
        name: impl Fn(&R) -> String,
    ) -> Result<&'r R, ApiError> {
        let scope = self.scope(permission);
        let ctx = self.ctx();
        find_by_key(records.iter(), key, id, name)
            .filter(|r| scope.allows(*r, &ctx))
            .ok_or_else(|| ApiError::ParentNotFound {
                parent,
                id: key.to_owned(),
            })
    }

    /// A record by id or name, visible with `permission`, or 404.
    pub(super) fn pick<'r, R: super::search::Searchable>(
        &self,
        records: &'r [R],
        key: &str,
        permission: &'static str,
        resource: &'static str,
        id: impl Fn(&R) -> Id,
        name: impl Fn(&R) -> String,
    ) -> Result<&'r R, ApiError> {
        let scope = self.require(permission)?;
        let ctx = self.ctx();
        find_by_key(records.iter(), key, id, name)
            .filter(|r| scope.allows(*r, &ctx))
            .ok_or_else(|| ApiError::not_found(resource, key))
    }

    /// An index of records the user may see with `permission`.
    pub(super) fn list<'r, R: super::search::Searchable>(
        &self,
        records: Vec<&'r R>,
        permission: &'static str,
        order: impl FnMut(&&'r R, &&'r R) -> std::cmp::Ordering,
        render: impl Fn(&R) -> Value,
    ) -> Result<(Value, usize), ApiError> {
        let scope = self.require(permission)?;
        let ctx = self.ctx();
        let visible = records
            .into_iter()
            .filter(|r| scope.allows(*r, &ctx))
            .collect();
        let (page, rows) = self.paginate(visible, order)?;
        let results: Vec<Value> = rows.iter().map(|r| render(r)).collect();
        let count = results.len();
        Ok((page.wrap(&results), count))
    }

    pub(super) fn account_index(
        &mut self,
        collection: Collection,
        nest: Option<&Nest>,
    ) -> Result<(StatusCode, Value), ApiError> {
        // The permission is checked before the parent is looked up.
        self.require(collection.permission("view"))?;
        let db = &*self.db;
        let (body, rows) = match (collection, nest) {
            (Collection::Users, nest) => {
                let members: Option<BTreeSet<Id>> = match nest {
                    Some(Nest::Role(key)) => {
                        let role = self.parent(
                            &db.roles,
                            key,
                            "view_roles",
                            "Role",
                            |r| r.id,
                            |r| r.name.clone(),
                        )?;
                        Some(
                            db.users
                                .iter()
                                .filter(|u| u.role_ids.contains(&role.id))
                                .map(|u| u.id)
                                .collect(),
                        )
                    }
                    Some(Nest::Usergroup(key)) => {
                        let group = self.parent(
                            &db.usergroups,
                            key,
                            "view_usergroups",
                            "Usergroup",
                            |g| g.id,
                            |g| g.name.clone(),
                        )?;
                        Some(group.user_ids.clone())
                    }
                    _ => None,
                };
                let users = db
                    .users
                    .iter()
                    .filter(|u| members.as_ref().is_none_or(|m| m.contains(&u.id)))
                    .collect();
                self.list(
                    users,
                    "view_users",
                    |a, b| a.login.to_lowercase().cmp(&b.login.to_lowercase()),
                    |u| views::user_main(db, u),
                )?
            }
            (Collection::Roles, nest) => {
                let owned: Option<BTreeSet<Id>> = match nest {
                    Some(Nest::User(key)) => {
                        let user = self.parent(
                            &db.users,
                            key,
                            "view_users",
                            "User",
                            |u| u.id,
                            |u| u.login.clone(),
                        )?;
                        Some(user.role_ids.clone())
                    }
                    _ => None,
                };
                let roles = db
                    .roles
                    .iter()
                    .filter(|r| owned.as_ref().is_none_or(|o| o.contains(&r.id)))
                    .collect();
                self.list(
                    roles,
                    "view_roles",
                    |a, b| a.name.cmp(&b.name),
                    views::role_main,
                )?
            }
            (Collection::Filters, nest) => {
                let role = match nest {
                    Some(Nest::Role(key)) => Some(
                        self.parent(
                            &db.roles,
                            key,
                            "view_roles",
                            "Role",
                            |r| r.id,
                            |r| r.name.clone(),
                        )?
                        .id,
                    ),
                    _ => None,
                };
                let filters = db
                    .filters
                    .iter()
                    .filter(|f| role.is_none_or(|r| f.role_id == r))
                    .collect();
                // Foreman lists filters unscoped: the permission alone decides.
                self.require("view_filters")?;
                let (page, rows) = self.paginate(filters, |a, b| a.id.cmp(&b.id))?;
                let results: Vec<Value> = rows.iter().map(|f| views::filter(db, f)).collect();
                let count = results.len();
                (page.wrap(&results), count)
            }
            (Collection::Usergroups, nest) => {
                let member: Option<Id> = match nest {
                    Some(Nest::User(key)) => Some(
                        self.parent(
                            &db.users,
                            key,
                            "view_users",
                            "User",
                            |u| u.id,
                            |u| u.login.clone(),
                        )?
                        .id,
                    ),
                    _ => None,
                };
                let groups = db
                    .usergroups
                    .iter()
                    .filter(|g| member.is_none_or(|m| g.user_ids.contains(&m)))
                    .collect();
                self.list(
                    groups,
                    "view_usergroups",
                    |a, b| a.name.cmp(&b.name),
                    views::usergroup_main,
                )?
            }
            _ => return Err(ApiError::NoRoute),
        };
        self.index_time(rows, false);
        Ok((StatusCode::OK, body))
    }

    pub(super) fn account_show(
        &mut self,
        collection: Collection,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.show;
        let db = &*self.db;
        let body = match collection {
            Collection::Users if self.is_self(key) => {
                let user = db
                    .user(self.user)
                    .ok_or_else(|| ApiError::not_found("user", key))?;
                views::user_show(db, user)
            }
            Collection::Users => {
                let user = self.pick(
                    &db.users,
                    key,
                    "view_users",
                    "user",
                    |u| u.id,
                    |u| u.login.clone(),
                )?;
                views::user_show(db, user)
            }
            Collection::Roles => {
                let role = self.pick(
                    &db.roles,
                    key,
                    "view_roles",
                    "role",
                    |r| r.id,
                    |r| r.name.clone(),
                )?;
                views::role_show(db, role)
            }
            Collection::Filters => {
                self.require("view_filters")?;
                let filter = numeric_id(key)
                    .and_then(|id| db.filters.iter().find(|f| f.id == id))
                    .ok_or_else(|| ApiError::not_found("filter", key))?;
                views::filter(db, filter)
            }
            Collection::Usergroups => {
                let group = self.pick(
                    &db.usergroups,
                    key,
                    "view_usergroups",
                    "usergroup",
                    |g| g.id,
                    |g| g.name.clone(),
                )?;
                views::usergroup_show(db, group)
            }
            _ => return Err(ApiError::NoRoute),
        };
        Ok((StatusCode::OK, body))
    }

    pub(super) fn account_create(
        &mut self,
        collection: Collection,
        nest: Option<&Nest>,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.rbac_write;
        match collection {
            Collection::Users => self.user_create(),
            Collection::Roles => self.role_create(),
            Collection::Filters => self.filter_create(nest),
            Collection::Usergroups => self.usergroup_create(),
            _ => Err(ApiError::NoRoute),
        }
    }

    pub(super) fn account_update(
        &mut self,
        collection: Collection,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.rbac_write;
        match collection {
            Collection::Users => self.user_update(key),
            Collection::Roles => self.role_update(key),
            Collection::Filters => self.filter_update(key),
            Collection::Usergroups => self.usergroup_update(key),
            _ => Err(ApiError::NoRoute),
        }
    }

    pub(super) fn account_destroy(
        &mut self,
        collection: Collection,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.rbac_write;
        match collection {
            Collection::Users => self.user_destroy(key),
            Collection::Roles => self.role_destroy(key),
            Collection::Filters => self.filter_destroy(key),
            Collection::Usergroups => self.usergroup_destroy(key),
            _ => Err(ApiError::NoRoute),
        }
    }

    // ---- users ----

    /// Foreman's `editing_self?` for `/api/users/:id` (show and update): the id, or the login,
    /// is the current user's. Such requests need no user permission.
    pub(super) fn is_self(&self, key: &str) -> bool {
        numeric_id(key) == Some(self.user)
            || self.db.user(self.user).is_some_and(|u| u.login == key)
    }

    fn user_create(&mut self) -> Result<(StatusCode, Value), ApiError> {
        self.require("create_users")?;
        self.check_media_type()?;
        let attrs = self.attributes("user", USER_ATTRIBUTES);
        let login = attrs.get("login").map(as_text).unwrap_or_default();
        self.work
            .begin_write(&format!("user/new/{}", login.to_lowercase()))?;
        let mut user = User {
            id: 0,
            login: String::new(),
            firstname: String::new(),
            lastname: String::new(),
            mail: String::new(),
            description: String::new(),
            admin: false,
            disabled: false,
            auth_source_id: 0,
            password: None,
            role_ids: BTreeSet::new(),
            locale: None,
            timezone: None,
            mail_enabled: true,
            last_login_on: None,
            created_at: self.now,
            updated_at: self.now,
        };
        let mut errors = self.assign_user(&mut user, &attrs, false)?;
        errors.extend(self.validate_user(&user, true));
        if !errors.is_empty() {
            return Err(ApiError::Invalid { id: None, errors });
        }
        user.id = self.db.next("user");
        user.role_ids.extend(self.db.default_role_id());
        let id = user.id;
        self.db.users.push(user);
        let user = self.db.user(id).ok_or(ApiError::NoRoute)?;
        Ok((StatusCode::CREATED, views::user_show(self.db, user)))
    }

    fn user_update(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let editing_self = self.is_self(key);
        let id = if editing_self {
            self.check_media_type()?;
            self.user
        } else {
            let db = &*self.db;
            let id = self
                .pick(
                    &db.users,
                    key,
                    "edit_users",
                    "user",
                    |u| u.id,
                    |u| u.login.clone(),
                )?
                .id;
            self.check_media_type()?;
            id
        };
        self.work.begin_write(&format!("user/{id}"))?;
        let mut user = self
            .db
            .user(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("user", key))?;
        let attrs = self.attributes("user", USER_ATTRIBUTES);
        let mut errors = self.assign_user(&mut user, &attrs, editing_self)?;
        errors.extend(self.validate_user(&user, false));
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                id: Some(id),
                errors,
            });
        }
        user.role_ids.extend(self.db.default_role_id());
        user.updated_at = self.now;
        if let Some(slot) = self.db.users.iter_mut().find(|u| u.id == id) {
            *slot = user;
        }
        let user = self.db.user(id).ok_or(ApiError::NoRoute)?;
        Ok((StatusCode::OK, views::user_show(self.db, user)))
    }

    fn user_destroy(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let db = &*self.db;
        let user = self.pick(
            &db.users,
            key,
            "destroy_users",
            "user",
            |u| u.id,
            |u| u.login.clone(),
        )?;
        if user.id == self.user {
            return Err(ApiError::Forbidden {
                missing: vec!["destroy_users"],
                details: Some("You are trying to delete your own account".to_owned()),
            });
        }
        let (id, body) = (user.id, views::user_show(db, user));
        self.work.begin_write(&format!("user/{id}"))?;
        self.db.users.retain(|u| u.id != id);
        for group in &mut self.db.usergroups {
            group.user_ids.remove(&id);
        }
        self.db.sessions.retain(|_, s| s.user_id != id);
        Ok((StatusCode::OK, body))
    }

    /// Assigns user attributes; unknown roles fail at once (422 or, for `role_names`, 500 as in
    /// Foreman); other problems are returned as validation errors.
    fn assign_user(
        &self,
        user: &mut User,
        attrs: &Map<String, Value>,
        editing_self: bool,
    ) -> Result<Vec<FieldError>, ApiError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let current_is_admin = self.db.effective_admin(self.user);
        let text = |k: &str| attrs.get(k).map(as_text);
        if let Some(login) = text("login") {
            user.login = login;
        }
        for (key, target) in [
            ("firstname", &mut user.firstname),
            ("lastname", &mut user.lastname),
            ("mail", &mut user.mail),
            ("description", &mut user.description),
        ] {
            if let Some(value) = text(key) {
                *target = value.trim().to_owned();
            }
        }
        if let Some(locale) = text("locale") {
            user.locale = Some(locale).filter(|l| !l.is_empty());
        }
        if let Some(timezone) = text("timezone") {
            user.timezone = Some(timezone).filter(|t| !t.is_empty());
        }
        for (key, target) in [
            ("mail_enabled", &mut user.mail_enabled),
            ("disabled", &mut user.disabled),
        ] {
            if let Some(value) = attrs.get(key).map(as_bool) {
                *target = value.unwrap_or(false);
            }
        }
        if current_is_admin && let Some(admin) = attrs.get("admin").map(as_bool) {
            user.admin = admin.unwrap_or(false);
        }
        if !editing_self {
            if let Some(source) = attrs.get("auth_source_id") {
                user.auth_source_id = as_id(source).ok().flatten().unwrap_or(0);
            }
            let roles = if let Some(ids) = attrs.get("role_ids") {
                let wanted = as_ids(ids);
                Some(resolve_ids("Role", &wanted, |id| {
                    self.db.role(id).is_some()
                })?)
            } else if let Some(names) = attrs.get("role_names") {
                let names: Vec<String> = match names {
                    Value::Array(items) => items.iter().map(as_text).collect(),
                    other => vec![as_text(other)],
                };
                let mut ids = BTreeSet::new();
                for name in names.iter().filter(|n| !n.is_empty()) {
                    // Foreman calls `.id` on the result of `find_by_name`: an unknown name is a
                    // NoMethodError, answered 500.
                    let role = self.db.roles.iter().find(|r| &r.name == name);
                    ids.insert(role.map(|r| r.id).ok_or_else(|| ApiError::Internal {
                        message: INTERNAL_ERROR.to_owned(),
                    })?);
                }
                Some(ids)
            } else {
                None
            };
            if let Some(roles) = roles {
                let can_escalate = current_is_admin || self.scope("escalate_roles").permitted();
                let mine = self.db.roles_of(self.user);
                if !can_escalate && !roles.iter().all(|r| mine.contains(r)) {
                    errors.push((
                        "role_ids".to_owned(),
                        "you can't assign some of roles you selected".to_owned(),
                    ));
                }
                user.role_ids = roles;
            }
        }
        if let Some(password) = text("password").filter(|p| !p.is_empty()) {
            if user.id == self.user && text("current_password") != user.password {
                errors.push((
                    "current_password".to_owned(),
                    "Incorrect password".to_owned(),
                ));
            }
            if text("password_confirmation").is_some_and(|c| c != password) {
                errors.push((
                    "password_confirmation".to_owned(),
                    "doesn't match Password".to_owned(),
                ));
            }
            if user.admin && !current_is_admin {
                errors.push((
                    "password".to_owned(),
                    "cannot be changed by a non-admin user".to_owned(),
                ));
            }
            user.password = Some(password);
        }
        Ok(errors)
    }

    fn validate_user(&self, user: &User, new: bool) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut add =
            |field: &str, message: &str| errors.push((field.to_owned(), message.to_owned()));
        if !user.mail.is_empty() && !mail_is_valid(&user.mail) {
            add("mail", "is invalid");
        }
        if !new && user.mail.is_empty() && user.mail_enabled {
            add("mail", "can't be blank");
        }
        if user.login.is_empty() {
            add("login", "can't be blank");
        } else if self
            .db
            .users
            .iter()
            .any(|u| u.id != user.id && u.login.eq_ignore_ascii_case(&user.login))
        {
            add("login", "already exists");
        }
        if !login_is_valid(&user.login) {
            add("login", "is invalid");
        }
        if user.login.chars().count() > 100 {
            add("login", "is too long (maximum is 100 characters)");
        }
        if user.login == "current_user" {
            add("login", "is reserved");
        }
        match user.auth_source_id {
            0 => add("auth_source_id", "can't be blank"),
            super::db::INTERNAL_AUTH_SOURCE => {}
            _ => add("auth_source", "is invalid"),
        }
        if user.password.is_none() {
            add("password_hash", "can't be blank");
        }
        for (field, value) in [("firstname", &user.firstname), ("lastname", &user.lastname)] {
            if !name_is_valid(value) {
                add(field, "is invalid");
            }
            if value.chars().count() > 50 {
                add(field, "is too long (maximum is 50 characters)");
            }
        }
        errors
    }

    // ---- roles ----

    fn role_create(&mut self) -> Result<(StatusCode, Value), ApiError> {
        self.require("create_roles")?;
        self.check_media_type()?;
        let attrs = self.attributes("role", ROLE_ATTRIBUTES);
        let name = attrs.get("name").map(as_text).unwrap_or_default();
        self.work.begin_write(&format!("role/new/{name}"))?;
        let mut role = Role {
            id: 0,
            name: String::new(),
            description: None,
            builtin: 0,
            origin: None,
            cloned_from_id: None,
            created_at: self.now,
            updated_at: self.now,
        };
        assign_role(&mut role, &attrs);
        let errors = self.validate_role(&role);
        if !errors.is_empty() {
            return Err(ApiError::Invalid { id: None, errors });
        }
        role.id = self.db.next("role");
        let body = views::role_show(self.db, &role);
        self.db.roles.push(role);
        Ok((StatusCode::CREATED, body))
    }

    fn role_update(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let db = &*self.db;
        let found = self.pick(
            &db.roles,
            key,
            "edit_roles",
            "role",
            |r| r.id,
            |r| r.name.clone(),
        )?;
        let mut role = found.clone();
        self.check_media_type()?;
        self.work.begin_write(&format!("role/{}", role.id))?;
        let attrs = self.attributes("role", ROLE_ATTRIBUTES);
        let before = (role.name.clone(), role.description.clone());
        assign_role(&mut role, &attrs);
        let mut errors = self.validate_role(&role);
        if role.locked() && before != (role.name.clone(), role.description.clone()) {
            errors.push((
                "base".to_owned(),
                "This role is locked from being modified by users.".to_owned(),
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                id: Some(role.id),
                errors,
            });
        }
        role.updated_at = self.now;
        let body = views::role_show(self.db, &role);
        if let Some(slot) = self.db.roles.iter_mut().find(|r| r.id == role.id) {
            *slot = role;
        }
        Ok((StatusCode::OK, body))
    }

    fn role_destroy(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let db = &*self.db;
        let role = self.pick(
            &db.roles,
            key,
            "destroy_roles",
            "role",
            |r| r.id,
            |r| r.name.clone(),
        )?;
        let (id, body) = (role.id, views::role_main(role));
        let refusal = if role.builtin != 0 {
            Some("Cannot delete built-in role")
        } else if role.locked() {
            Some("This role is locked from being modified by users.")
        } else {
            None
        };
        self.work.begin_write(&format!("role/{id}"))?;
        if let Some(message) = refusal {
            return Err(ApiError::invalid(Some(id), "base", message));
        }
        self.db.roles.retain(|r| r.id != id);
        self.db.filters.retain(|f| f.role_id != id);
        for user in &mut self.db.users {
            user.role_ids.remove(&id);
        }
        for group in &mut self.db.usergroups {
            group.role_ids.remove(&id);
        }
        Ok((StatusCode::OK, body))
    }

    fn validate_role(&self, role: &Role) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if role.name.trim().is_empty() {
            errors.push(("name".to_owned(), "can't be blank".to_owned()));
        } else if self
            .db
            .roles
            .iter()
            .any(|r| r.id != role.id && r.name == role.name)
        {
            errors.push(("name".to_owned(), "has already been taken".to_owned()));
        }
        errors
    }

    // ---- filters ----

    fn filter_create(&mut self, nest: Option<&Nest>) -> Result<(StatusCode, Value), ApiError> {
        self.require("create_filters")?;
        self.check_media_type()?;
        let nested_role = match nest {
            Some(Nest::Role(key)) => {
                let db = &*self.db;
                Some(
                    self.parent(
                        &db.roles,
                        key,
                        "view_roles",
                        "Role",
                        |r| r.id,
                        |r| r.name.clone(),
                    )?
                    .id,
                )
            }
            _ => None,
        };
        let attrs = self.attributes("filter", FILTER_ATTRIBUTES);
        let role_id =
            nested_role.or_else(|| attrs.get("role_id").and_then(|v| as_id(v).ok().flatten()));
        self.work
            .begin_write(&format!("filter/new/role/{}", role_id.unwrap_or_default()))?;
        let mut filter = Filter {
            id: 0,
            role_id: role_id.unwrap_or(0),
            search: None,
            permission_ids: Vec::new(),
            override_: false,
            created_at: self.now,
            updated_at: self.now,
        };
        self.assign_filter(&mut filter, &attrs)?;
        if let Some(role) = nested_role {
            filter.role_id = role;
        }
        let errors = self.validate_filter(&filter);
        if !errors.is_empty() {
            return Err(ApiError::Invalid { id: None, errors });
        }
        filter.id = self.db.next("filter");
        let body = views::filter(self.db, &filter);
        self.db.filters.push(filter);
        Ok((StatusCode::CREATED, body))
    }

    fn find_filter(&self, key: &str, permission: &'static str) -> Result<usize, ApiError> {
        self.require(permission)?;
        numeric_id(key)
            .and_then(|id| self.db.filters.iter().position(|f| f.id == id))
            .ok_or_else(|| ApiError::not_found("filter", key))
    }

    fn filter_update(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let position = self.find_filter(key, "edit_filters")?;
        self.check_media_type()?;
        let mut filter = self.db.filters[position].clone();
        self.work.begin_write(&format!("filter/{}", filter.id))?;
        let attrs = self.attributes("filter", FILTER_ATTRIBUTES);
        self.assign_filter(&mut filter, &attrs)?;
        let errors = self.validate_filter(&filter);
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                id: Some(filter.id),
                errors,
            });
        }
        filter.updated_at = self.now;
        let body = views::filter(self.db, &filter);
        self.db.filters[position] = filter;
        Ok((StatusCode::OK, body))
    }

    fn filter_destroy(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let position = self.find_filter(key, "destroy_filters")?;
        let filter = &self.db.filters[position];
        let (id, body) = (filter.id, views::filter(self.db, filter));
        let locked = self.db.role(filter.role_id).is_some_and(Role::locked);
        self.work.begin_write(&format!("filter/{id}"))?;
        if locked {
            return Err(ApiError::invalid(
                Some(id),
                "role_id",
                "is locked for user modifications.",
            ));
        }
        self.db.filters.remove(position);
        Ok((StatusCode::OK, body))
    }

    fn assign_filter(
        &self,
        filter: &mut Filter,
        attrs: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        if let Some(role) = attrs.get("role_id") {
            filter.role_id = as_id(role).ok().flatten().unwrap_or(0);
        }
        if let Some(search) = attrs.get("search") {
            let search = as_text(search);
            filter.search = Some(search).filter(|s| !s.trim().is_empty());
        }
        if let Some(value) = attrs.get("override") {
            filter.override_ = as_bool(value).unwrap_or(false);
        }
        if let Some(ids) = attrs.get("permission_ids") {
            let wanted = as_ids(ids);
            let found = resolve_ids("Permission", &wanted, |id| self.db.permission(id).is_some())?;
            filter.permission_ids = found.into_iter().collect();
        }
        Ok(())
    }

    fn validate_filter(&self, filter: &Filter) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let role = self.db.role(filter.role_id);
        match role {
            None => errors.push(("role".to_owned(), "can't be blank".to_owned())),
            Some(role) if role.locked() => errors.push((
                "role_id".to_owned(),
                "is locked for user modifications.".to_owned(),
            )),
            Some(_) => {}
        }
        let types: Vec<&str> = {
            let mut types: Vec<&str> = filter
                .permission_ids
                .iter()
                .filter_map(|p| self.db.permission(*p))
                .map(|p| p.resource_type.unwrap_or(""))
                .collect();
            types.dedup();
            types.sort_unstable();
            types.dedup();
            types
        };
        if filter.permission_ids.is_empty() {
            errors.push((
                "permissions".to_owned(),
                "You must select at least one permission".to_owned(),
            ));
        } else if types.len() > 1 {
            errors.push((
                "permissions".to_owned(),
                format!(
                    "must be of same resource type ({}) - Role ({})",
                    types.join(","),
                    role.map(|r| r.name.as_str()).unwrap_or_default()
                ),
            ));
        }
        if let Some(search) = &filter.search {
            let resource = types.first().copied().filter(|t| !t.is_empty());
            if let Err(e) = check_for_resource(resource, search) {
                errors.push((
                    "search".to_owned(),
                    format!("invalid search query: {}", e.message),
                ));
            }
        }
        errors
    }

    // ---- user groups ----

    fn usergroup_create(&mut self) -> Result<(StatusCode, Value), ApiError> {
        self.require("create_usergroups")?;
        self.check_media_type()?;
        let attrs = self.attributes("usergroup", USERGROUP_ATTRIBUTES);
        let name = attrs.get("name").map(as_text).unwrap_or_default();
        self.work.begin_write(&format!("usergroup/new/{name}"))?;
        let mut group = Usergroup {
            id: 0,
            name: String::new(),
            admin: false,
            user_ids: BTreeSet::new(),
            usergroup_ids: BTreeSet::new(),
            role_ids: BTreeSet::new(),
            created_at: self.now,
            updated_at: self.now,
        };
        self.assign_usergroup(&mut group, &attrs)?;
        let errors = self.validate_usergroup(&group);
        if !errors.is_empty() {
            return Err(ApiError::Invalid { id: None, errors });
        }
        group.id = self.db.next("usergroup");
        let body = views::usergroup_show(self.db, &group);
        self.db.usergroups.push(group);
        Ok((StatusCode::CREATED, body))
    }

    fn usergroup_update(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let db = &*self.db;
        let mut group = self
            .pick(
                &db.usergroups,
                key,
                "edit_usergroups",
                "usergroup",
                |g| g.id,
                |g| g.name.clone(),
            )?
            .clone();
        self.check_media_type()?;
        self.work.begin_write(&format!("usergroup/{}", group.id))?;
        let attrs = self.attributes("usergroup", USERGROUP_ATTRIBUTES);
        self.assign_usergroup(&mut group, &attrs)?;
        let errors = self.validate_usergroup(&group);
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                id: Some(group.id),
                errors,
            });
        }
        group.updated_at = self.now;
        let body = views::usergroup_show(self.db, &group);
        if let Some(slot) = self.db.usergroups.iter_mut().find(|g| g.id == group.id) {
            *slot = group;
        }
        Ok((StatusCode::OK, body))
    }

    fn usergroup_destroy(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        let db = &*self.db;
        let group = self.pick(
            &db.usergroups,
            key,
            "destroy_usergroups",
            "usergroup",
            |g| g.id,
            |g| g.name.clone(),
        )?;
        let (id, body) = (group.id, views::usergroup_show(db, group));
        self.work.begin_write(&format!("usergroup/{id}"))?;
        self.db.usergroups.retain(|g| g.id != id);
        for group in &mut self.db.usergroups {
            group.usergroup_ids.remove(&id);
        }
        Ok((StatusCode::OK, body))
    }

    fn assign_usergroup(
        &self,
        group: &mut Usergroup,
        attrs: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        if let Some(name) = attrs.get("name") {
            group.name = as_text(name).trim().to_owned();
        }
        if self.db.effective_admin(self.user)
            && let Some(admin) = attrs.get("admin")
        {
            group.admin = as_bool(admin).unwrap_or(false);
        }
        if let Some(ids) = attrs.get("user_ids") {
            group.user_ids = resolve_ids("User", &as_ids(ids), |id| self.db.user(id).is_some())?;
        }
        if let Some(ids) = attrs.get("usergroup_ids") {
            group.usergroup_ids = resolve_ids("Usergroup", &as_ids(ids), |id| {
                self.db.usergroup(id).is_some()
            })?;
        }
        if let Some(ids) = attrs.get("role_ids") {
            group.role_ids = resolve_ids("Role", &as_ids(ids), |id| self.db.role(id).is_some())?;
        }
        Ok(())
    }

    fn validate_usergroup(&self, group: &Usergroup) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if group.name.is_empty() {
            errors.push(("name".to_owned(), "can't be blank".to_owned()));
        } else if self
            .db
            .usergroups
            .iter()
            .any(|g| g.id != group.id && g.name == group.name)
        {
            errors.push(("name".to_owned(), "has already been taken".to_owned()));
        }
        if group.id != 0 && group.usergroup_ids.contains(&group.id) {
            errors.push((
                "usergroups".to_owned(),
                format!("{} cannot contain itself", group.name),
            ));
        }
        errors
    }
}

fn assign_role(role: &mut Role, attrs: &Map<String, Value>) {
    if let Some(name) = attrs.get("name") {
        role.name = as_text(name).trim().to_owned();
    }
    if let Some(description) = attrs.get("description") {
        role.description = Some(as_text(description)).filter(|d| !d.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(login_is_valid("cloud02"));
        assert!(login_is_valid("a.b@c-d_e"));
        assert!(!login_is_valid("a b"));
        assert!(mail_is_valid("root@lab.example"));
        assert!(!mail_is_valid("root@lab"));
        assert!(!mail_is_valid("root"));
        assert!(name_is_valid("Cloud 02 (tenant)"));
        assert!(!name_is_valid("x/y"));
    }
}
