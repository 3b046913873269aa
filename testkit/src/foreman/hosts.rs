//! Hosts and their parameters: index (search, pagination, thin listing), show by id or FQDN,
//! update (`build`, owner, OS / partition table / medium / architecture / host group by id or by
//! `*_name`, nested parameters), and `/api/hosts/:host_id/parameters[/:id]` by id or name.
//!
//! A host's `build` flag is its machine's: setting it starts nothing by itself; a network boot
//! while it is set installs the OS, after which the machine clears it.

use http::StatusCode;
use serde_json::{Map, Value};

use super::api::{Handler, as_bool, as_id, as_text};
use super::db::{Host, Id, Owner, Parameter, numeric_id};
use super::errors::{ApiError, FieldError};
use super::fields::HostParam;
use super::rbac::Scope;
use super::views;

/// Host attributes the API accepts without the `host` wrapper.
const HOST_ATTRIBUTES: &[&str] = &[
    "name",
    "build",
    "comment",
    "enabled",
    "managed",
    "owner_id",
    "owner_type",
    "is_owned_by",
    "ip",
    "mac",
    "operatingsystem_id",
    "operatingsystem_name",
    "ptable_id",
    "ptable_name",
    "medium_id",
    "medium_name",
    "architecture_id",
    "architecture_name",
    "hostgroup_id",
    "hostgroup_name",
    "host_parameters_attributes",
    "root_pass",
    "pxe_loader",
];

/// Parameter attributes accepted without the `parameter` wrapper.
const PARAMETER_ATTRIBUTES: &[&str] = &["name", "value", "parameter_type", "hidden_value"];

/// Foreman's parameter types.
const KEY_TYPES: &[&str] = &[
    "string", "boolean", "integer", "real", "array", "hash", "yaml", "json",
];

/// The permissions on a host a show lists.
const HOST_PERMISSIONS: &[&str] = &[
    "view_hosts",
    "create_hosts",
    "edit_hosts",
    "destroy_hosts",
    "build_hosts",
    "power_hosts",
    "console_hosts",
    "ipmi_boot_hosts",
    "forget_status_hosts",
];

impl Handler<'_, '_, '_> {
    /// A host the user may act on with `scope`, by FQDN or id; `resource` and `id` name it in the
    /// 404 (`Resource host not found by id 'x'`).
    fn scoped_host(
        &self,
        key: &str,
        scope: &Scope,
        resource: &'static str,
        id: &str,
    ) -> Result<usize, ApiError> {
        let ctx = self.ctx();
        self.db
            .find_host(key)
            .filter(|i| scope.allows(&self.db.hosts[*i], &ctx))
            .ok_or_else(|| ApiError::not_found(resource, id))
    }

    pub(super) fn host_index(
        &mut self,
        group: Option<&str>,
    ) -> Result<(StatusCode, Value), ApiError> {
        let scope = self.require("view_hosts")?;
        let ctx = self.ctx();
        let group_id = match group {
            Some(key) => {
                let groups = self.scope("view_hostgroups");
                let found = super::api::find_by_key(
                    self.db.hostgroups.iter(),
                    key,
                    |g| g.id,
                    |g| self.db.hostgroup_title(g.id),
                )
                .filter(|g| groups.allows(*g, &ctx))
                .ok_or_else(|| ApiError::ParentNotFound {
                    parent: "Hostgroup",
                    id: key.to_owned(),
                })?;
                Some(found.id)
            }
            None => None,
        };
        // A search by names (`name = a`, `name ^ (a,b)`) can only match those hosts: start from
        // them instead of the whole fleet (the search itself still decides).
        let named: Option<Vec<&Host>> = self
            .request
            .query_param("search")
            .and_then(searched_names)
            .map(|names| {
                let mut indices: Vec<usize> =
                    names.iter().filter_map(|n| self.db.find_host(n)).collect();
                indices.sort_unstable();
                indices.dedup();
                indices.into_iter().map(|i| &self.db.hosts[i]).collect()
            });
        let candidates: Box<dyn Iterator<Item = &Host>> = match named {
            Some(hosts) => Box::new(hosts.into_iter()),
            None => Box::new(self.db.hosts.iter()),
        };
        let visible: Vec<&Host> = candidates
            .filter(|h| group_id.is_none() || h.hostgroup_id == group_id)
            .filter(|h| scope.allows(*h, &ctx))
            .collect();
        let (page, mut rows) = self.paginate(visible, |a, b| a.name.cmp(&b.name))?;
        // Foreman: `if params[:thin]`: any value, even `false`, asks for the thin listing.
        let thin = self.request.query_param("thin").is_some();
        let include: Vec<&str> = self
            .request
            .query
            .iter()
            .filter(|(k, _)| k == "include" || k == "include[]")
            .flat_map(|(_, v)| v.split(','))
            .collect();
        let results: Vec<Value> = if thin {
            rows.sort_by(|a, b| a.name.cmp(&b.name));
            rows.iter().map(|h| views::host_thin(h)).collect()
        } else {
            let show_hidden = self.show_hidden();
            rows.iter()
                .map(|h| {
                    let mut row = views::host_main(self.db, h, self.machines.get(h.index));
                    let params = |p: &Parameter| views::parameter(p, show_hidden);
                    if let Value::Object(map) = &mut row {
                        for key in ["parameters", "all_parameters"] {
                            if include.contains(&key) {
                                map.insert(
                                    key.to_owned(),
                                    h.parameters.iter().map(params).collect(),
                                );
                            }
                        }
                    }
                    row
                })
                .collect()
        };
        let count = results.len();
        self.index_time(count, thin);
        Ok((StatusCode::OK, page.wrap(&results)))
    }

    fn host_json(&self, index: usize) -> Value {
        let host = &self.db.hosts[index];
        let ctx = self.ctx();
        let permissions: Map<String, Value> = HOST_PERMISSIONS
            .iter()
            .map(|p| {
                let allowed = self.scope(p).allows(host, &ctx);
                ((*p).to_owned(), Value::Bool(allowed))
            })
            .collect();
        views::host_show(
            self.db,
            host,
            self.machines.get(host.index),
            self.show_hidden(),
            &Value::Object(permissions),
        )
    }

    pub(super) fn host_show(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.show;
        let scope = self.require("view_hosts")?;
        let index = self.scoped_host(key, &scope, "host", key)?;
        self.work.host = Some(self.db.hosts[index].name.clone());
        Ok((StatusCode::OK, self.host_json(index)))
    }

    pub(super) fn host_update(&mut self, key: &str) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.host_write;
        let scope = self.require("edit_hosts")?;
        self.check_media_type()?;
        let index = self.scoped_host(key, &scope, "host", key)?;
        let (id, name) = (self.db.hosts[index].id, self.db.hosts[index].name.clone());
        self.work.host = Some(name);
        let attrs = self.attributes("host", HOST_ATTRIBUTES);
        let build = attrs.get("build").map(as_bool);
        if build == Some(Some(true)) {
            self.work.median = self.model.host_build_write;
        }
        self.work.begin_write(&format!("host/{id}"))?;
        let mut host = self.db.hosts[index].clone();
        let owner_errors = self.assign_host(&mut host, &attrs)?;
        let was_building = self.machines.get(index).is_some_and(|m| m.build);
        let new_build = match build {
            Some(b) => b.unwrap_or(false),
            None => was_building,
        };
        let mut errors = owner_errors;
        errors.extend(self.validate_host(&host, new_build));
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                id: Some(id),
                errors,
            });
        }
        if new_build && !was_building {
            host.initiated_at = Some(self.now);
        }
        host.updated_at = self.now;
        for param in host.parameters.iter_mut().filter(|p| p.id == 0) {
            param.id = self.db.next("parameter");
        }
        host.parameters.sort_by(|a, b| a.name.cmp(&b.name));
        self.db.hosts[index] = host;
        if let Some(machine) = self.machines.get_mut(index) {
            if new_build && !was_building {
                machine.network_boots_in_build = 0;
            }
            machine.build = new_build;
        }
        Ok((StatusCode::OK, self.host_json(index)))
    }

    /// Assigns attributes to a copy of a host; names of associated records are looked up first
    /// and an unknown one fails at once (422 `Could not find ... with name: ...`).
    fn assign_host(
        &self,
        host: &mut Host,
        attrs: &Map<String, Value>,
    ) -> Result<Vec<FieldError>, ApiError> {
        let db = &*self.db;
        let by_name = |attr: &str, association: &str, find: &dyn Fn(&str) -> Option<Id>| {
            let Some(value) = attrs.get(attr) else {
                return Ok(None);
            };
            let name = as_text(value);
            find(&name).map(Some).ok_or_else(|| ApiError::Association {
                message: format!("Could not find {association} with name: {name}"),
            })
        };
        let os_by_name = by_name("operatingsystem_name", "operatingsystem", &|name| {
            db.operatingsystems
                .iter()
                .find(|o| o.description == name)
                .or_else(|| {
                    let mut words = name.split(' ');
                    let os_name = words.next()?;
                    let version = words.next();
                    let (major, minor) = match version {
                        Some(v) => {
                            let mut parts = v.splitn(2, '.');
                            (parts.next(), parts.next())
                        }
                        None => (None, None),
                    };
                    db.operatingsystems.iter().find(|o| {
                        o.name == os_name
                            && major.is_none_or(|m| o.major == m)
                            && minor.is_none_or(|m| o.minor == m)
                    })
                })
                .map(|o| o.id)
        })?;
        let ptable_by_name = by_name("ptable_name", "ptable", &|name| {
            db.ptables.iter().find(|p| p.name == name).map(|p| p.id)
        })?;
        let medium_by_name = by_name("medium_name", "medium", &|name| {
            db.media.iter().find(|m| m.name == name).map(|m| m.id)
        })?;
        let arch_by_name = by_name("architecture_name", "architecture", &|name| {
            db.architectures
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.id)
        })?;
        let group_by_name = by_name("hostgroup_name", "hostgroup", &|name| {
            db.hostgroups
                .iter()
                .find(|g| db.hostgroup_title(g.id) == name)
                .map(|g| g.id)
        })?;
        for (attr, target, by_name) in [
            ("operatingsystem", &mut host.operatingsystem_id, os_by_name),
            ("ptable", &mut host.ptable_id, ptable_by_name),
            ("medium", &mut host.medium_id, medium_by_name),
            ("architecture", &mut host.architecture_id, arch_by_name),
            ("hostgroup", &mut host.hostgroup_id, group_by_name),
        ] {
            if let Some(value) = attrs.get(&format!("{attr}_id")) {
                // An id that is not a number casts to 0, which no record has.
                *target = as_id(value).unwrap_or(Some(0));
            }
            if let Some(id) = by_name {
                *target = Some(id);
            }
        }
        if let Some(comment) = attrs.get("comment") {
            host.comment = as_text(comment);
        }
        for (attr, target) in [
            ("enabled", &mut host.enabled),
            ("managed", &mut host.managed),
        ] {
            if let Some(value) = attrs.get(attr).map(as_bool) {
                *target = value.unwrap_or(false);
            }
        }
        let touches_owner = ["owner_id", "owner_type", "is_owned_by"]
            .iter()
            .any(|k| attrs.contains_key(*k));
        let mut errors = Vec::new();
        if touches_owner {
            errors.extend(self.assign_owner(host, attrs));
        }
        if let Some(params) = attrs.get("host_parameters_attributes") {
            self.assign_nested_parameters(host, params)?;
        }
        Ok(errors)
    }

    /// Foreman's ownership rules: `owner_id` without a type means a user; a type without an
    /// owner, an unknown type or a missing owner is invalid; no owner at all means the current
    /// user.
    fn assign_owner(&self, host: &mut Host, attrs: &Map<String, Value>) -> Option<FieldError> {
        let (mut kind, mut id) = match host.owner {
            Some(Owner::User(id)) => ("User".to_owned(), Some(id)),
            Some(Owner::Usergroup(id)) => ("Usergroup".to_owned(), Some(id)),
            None => (String::new(), None),
        };
        if let Some(selection) = attrs.get("is_owned_by").map(as_text) {
            // `5-Users` or `3-Usergroups`.
            let (n, k) = selection.split_once('-').unwrap_or((&selection, ""));
            id = n.parse().ok();
            kind = if k.starts_with("Usergroup") {
                "Usergroup"
            } else {
                "User"
            }
            .to_owned();
        }
        if let Some(value) = attrs.get("owner_type") {
            kind = as_text(value);
        }
        if let Some(value) = attrs.get("owner_id") {
            id = as_id(value).unwrap_or(Some(0));
        }
        if id.is_some() && kind.is_empty() {
            kind = "User".to_owned();
        }
        let db = &*self.db;
        host.owner = match (kind.as_str(), id) {
            ("", _) => Some(Owner::User(self.user)),
            ("User" | "Usergroup", None) => {
                return Some((
                    "owner".to_owned(),
                    "If owner type is specified, owner must be specified too.".to_owned(),
                ));
            }
            ("User", Some(id)) if db.user(id).is_some() => Some(Owner::User(id)),
            ("Usergroup", Some(id)) if db.usergroup(id).is_some() => Some(Owner::Usergroup(id)),
            ("User" | "Usergroup", Some(id)) => {
                return Some((
                    "owner".to_owned(),
                    format!("There is no owner with id {id} and type {kind}"),
                ));
            }
            _ => {
                return Some((
                    "owner_type".to_owned(),
                    "Owner type needs to be one of the following: User, Usergroup".to_owned(),
                ));
            }
        };
        None
    }

    /// Rails' nested attributes: `[{name, value, ...}]` or `{"0": {...}}`; with `id` an update,
    /// with `_destroy` a removal, else a new parameter (its id is given when the host is saved).
    /// An id the host does not have is Rails' `RecordNotFound`: 404.
    fn assign_nested_parameters(&self, host: &mut Host, value: &Value) -> Result<(), ApiError> {
        let entries: Vec<&Map<String, Value>> = match value {
            Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
            Value::Object(map) => map.values().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        };
        for entry in entries {
            let id = entry.get("id").and_then(|v| as_id(v).ok().flatten());
            let destroy = entry.get("_destroy").and_then(as_bool).unwrap_or(false);
            let position = match id {
                Some(id) => Some(host.parameters.iter().position(|p| p.id == id).ok_or_else(
                    || ApiError::NotFound {
                        resource: "parameter",
                        id: id.to_string(),
                    },
                )?),
                None => None,
            };
            match position {
                Some(position) if destroy => {
                    host.parameters.remove(position);
                }
                Some(position) => apply_parameter(&mut host.parameters[position], entry, self.now),
                None if destroy => {}
                None => {
                    let mut param = Parameter {
                        id: 0,
                        name: String::new(),
                        value: String::new(),
                        parameter_type: "string".to_owned(),
                        hidden_value: false,
                        created_at: self.now,
                        updated_at: self.now,
                    };
                    apply_parameter(&mut param, entry, self.now);
                    host.parameters.push(param);
                }
            }
        }
        Ok(())
    }

    /// Foreman's host validations, with the errors in its order.
    fn validate_host(&self, host: &Host, build: bool) -> Vec<FieldError> {
        let db = &*self.db;
        let mut errors: Vec<FieldError> = Vec::new();
        let mut add = |field: &str, message: String| errors.push((field.to_owned(), message));
        let os = host
            .operatingsystem_id
            .and_then(|id| db.operatingsystem(id));
        if host.operatingsystem_id.is_some() && os.is_none() {
            add("operatingsystem_id", "is invalid".to_owned());
        }
        for (field, id, exists) in [
            (
                "ptable_id",
                host.ptable_id,
                host.ptable_id.is_some_and(|id| db.ptable(id).is_some()),
            ),
            (
                "medium_id",
                host.medium_id,
                host.medium_id.is_some_and(|id| db.medium(id).is_some()),
            ),
            (
                "architecture_id",
                host.architecture_id,
                host.architecture_id
                    .is_some_and(|id| db.architecture(id).is_some()),
            ),
            (
                "hostgroup_id",
                host.hostgroup_id,
                host.hostgroup_id
                    .is_some_and(|id| db.hostgroup(id).is_some()),
            ),
        ] {
            if id.is_some() && !exists {
                add(field, "is invalid".to_owned());
            }
        }
        if host.managed && host.architecture_id.is_none() {
            add("architecture_id", "can't be blank".to_owned());
        }
        if host.managed && build {
            if host.ptable_id.is_none() {
                add(
                    "ptable_id",
                    "can't be blank unless a custom partition has been defined".to_owned(),
                );
            }
            if host.medium_id.is_none() {
                add("medium_id", "can't be blank".to_owned());
            }
        }
        if let (Some(os), Some(medium)) = (os, host.medium_id.and_then(|id| db.medium(id)))
            && !os.medium_ids.contains(&medium.id)
        {
            add(
                "medium_id",
                "must belong to host's operating system".to_owned(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for param in &host.parameters {
            for (field, message) in validate_parameter(param) {
                add(&format!("host_parameters.{field}"), message);
            }
            if !seen.insert(param.name.as_str()) {
                add("host_parameters.name", "has already been taken".to_owned());
            }
        }
        // After validation: the partition table, medium and architecture must be the OS's.
        if let Some(os) = os.filter(|_| host.managed) {
            let title = os.title();
            let mismatch = |field: &str, name: &str| {
                (
                    field.to_owned(),
                    format!("{name} does not belong to {title} operating system"),
                )
            };
            if let Some(p) = host.ptable_id.and_then(|id| db.ptable(id))
                && !os.ptable_ids.contains(&p.id)
            {
                errors.push(mismatch("ptable_id", &p.name));
            }
            if let Some(m) = host.medium_id.and_then(|id| db.medium(id))
                && !os.medium_ids.contains(&m.id)
            {
                errors.push(mismatch("medium_id", &m.name));
            }
            if let Some(a) = host.architecture_id.and_then(|id| db.architecture(id))
                && !os.architecture_ids.contains(&a.id)
            {
                errors.push(mismatch("architecture_id", &a.name));
            }
        }
        errors
    }

    /// The host of a parameter route, visible with `host_permission`; a missing host is
    /// Foreman's `Resource parameter not found by id '<param id>'`.
    fn param_host(
        &mut self,
        host_key: &str,
        host_permission: &str,
        param_id: &str,
    ) -> Result<usize, ApiError> {
        let scope = self.scope(host_permission);
        let index = self.scoped_host(host_key, &scope, "parameter", param_id)?;
        self.work.host = Some(self.db.hosts[index].name.clone());
        Ok(index)
    }

    /// A parameter of a host by id (`12` or `12-name`) or name, within the user's scope.
    fn find_param(&self, index: usize, key: &str, scope: &Scope) -> Result<usize, ApiError> {
        let host = &self.db.hosts[index];
        let ctx = self.ctx();
        let allowed = |p: &Parameter| scope.allows(&HostParam { host, param: p }, &ctx);
        let by_id = if key.contains('-') || key.bytes().all(|b| b.is_ascii_digit()) {
            numeric_id(key).and_then(|id| {
                host.parameters
                    .iter()
                    .position(|p| p.id == id && allowed(p))
            })
        } else {
            None
        };
        by_id
            .or_else(|| {
                host.parameters
                    .iter()
                    .position(|p| p.name == key && allowed(p))
            })
            .ok_or_else(|| ApiError::not_found("parameter", key))
    }

    pub(super) fn param_index(&mut self, host_key: &str) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.param_read;
        let scope = self.require("view_params")?;
        let index = self.param_host(host_key, "view_hosts", "")?;
        let host = &self.db.hosts[index];
        let ctx = self.ctx();
        let rows: Vec<HostParam<'_>> = host
            .parameters
            .iter()
            .map(|param| HostParam { host, param })
            .filter(|p| scope.allows(p, &ctx))
            .collect();
        let refs: Vec<&HostParam<'_>> = rows.iter().collect();
        let (page, shown) = self.paginate(refs, |a, b| a.param.name.cmp(&b.param.name))?;
        let show_hidden = self.show_hidden();
        let results: Vec<Value> = shown
            .iter()
            .map(|p| views::parameter(p.param, show_hidden))
            .collect();
        Ok((StatusCode::OK, page.wrap(&results)))
    }

    pub(super) fn param_show(
        &mut self,
        host_key: &str,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.param_read;
        let scope = self.require("view_params")?;
        let index = self.param_host(host_key, "view_hosts", key)?;
        let position = self.find_param(index, key, &scope)?;
        let param = &self.db.hosts[index].parameters[position];
        Ok((StatusCode::OK, views::parameter(param, self.show_hidden())))
    }

    pub(super) fn param_create(&mut self, host_key: &str) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.param_write;
        self.require("create_params")?;
        self.check_media_type()?;
        let index = self.param_host(host_key, "edit_hosts", "")?;
        let attrs = self.attributes("parameter", PARAMETER_ATTRIBUTES);
        let name = attrs.get("name").map(as_text).unwrap_or_default();
        let host_id = self.db.hosts[index].id;
        self.work
            .begin_write(&format!("host/{host_id}/param/{name}"))?;
        let mut param = Parameter {
            id: 0,
            name: String::new(),
            value: String::new(),
            parameter_type: "string".to_owned(),
            hidden_value: false,
            created_at: self.now,
            updated_at: self.now,
        };
        apply_parameter(&mut param, &attrs, self.now);
        let mut errors = validate_parameter(&param);
        if self.db.hosts[index]
            .parameters
            .iter()
            .any(|p| p.name == param.name)
        {
            errors.push(("name".to_owned(), "has already been taken".to_owned()));
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid { id: None, errors });
        }
        param.id = self.db.next("parameter");
        let body = views::parameter(&param, true);
        let host = &mut self.db.hosts[index];
        host.parameters.push(param);
        host.parameters.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((StatusCode::CREATED, body))
    }

    pub(super) fn param_update(
        &mut self,
        host_key: &str,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.param_write;
        let scope = self.require("edit_params")?;
        self.check_media_type()?;
        let index = self.param_host(host_key, "view_hosts", key)?;
        let position = self.find_param(index, key, &scope)?;
        let host = &self.db.hosts[index];
        let mut param = host.parameters[position].clone();
        self.work
            .begin_write(&format!("host/{}/param/{}", host.id, param.name))?;
        let attrs = self.attributes("parameter", PARAMETER_ATTRIBUTES);
        apply_parameter(&mut param, &attrs, self.now);
        let mut errors = validate_parameter(&param);
        let host = &self.db.hosts[index];
        if host
            .parameters
            .iter()
            .enumerate()
            .any(|(i, p)| i != position && p.name == param.name)
        {
            errors.push(("name".to_owned(), "has already been taken".to_owned()));
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                id: Some(param.id),
                errors,
            });
        }
        let body = views::parameter(&param, true);
        let host = &mut self.db.hosts[index];
        host.parameters[position] = param;
        host.parameters.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((StatusCode::OK, body))
    }

    pub(super) fn param_destroy(
        &mut self,
        host_key: &str,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.param_write;
        let scope = self.require("destroy_params")?;
        let index = self.param_host(host_key, "edit_hosts", key)?;
        let position = self.find_param(index, key, &scope)?;
        let host = &self.db.hosts[index];
        self.work.begin_write(&format!(
            "host/{}/param/{}",
            host.id, host.parameters[position].name
        ))?;
        let param = self.db.hosts[index].parameters.remove(position);
        Ok((StatusCode::OK, views::parameter(&param, true)))
    }

    pub(super) fn param_reset(&mut self, host_key: &str) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.param_write;
        self.require("destroy_params")?;
        let index = self.param_host(host_key, "edit_hosts", "")?;
        let host_id = self.db.hosts[index].id;
        self.work.begin_write(&format!("host/{host_id}/params"))?;
        let removed = std::mem::take(&mut self.db.hosts[index].parameters);
        Ok((
            StatusCode::OK,
            Value::Array(removed.iter().map(|p| views::parameter(p, true)).collect()),
        ))
    }
}

fn apply_parameter(param: &mut Parameter, attrs: &Map<String, Value>, now: f64) {
    if let Some(name) = attrs.get("name") {
        param.name = as_text(name).trim().to_owned();
    }
    if let Some(value) = attrs.get("value") {
        param.value = as_text(value);
    }
    if let Some(kind) = attrs
        .get("parameter_type")
        .or_else(|| attrs.get("key_type"))
    {
        let kind = as_text(kind);
        param.parameter_type = if kind.is_empty() {
            "string".to_owned()
        } else {
            kind
        };
    }
    if let Some(hidden) = attrs.get("hidden_value") {
        param.hidden_value = as_bool(hidden).unwrap_or(false);
    }
    param.updated_at = now;
}

/// A parameter's own validations: name present and without spaces, a known type, a value that
/// casts to it.
fn validate_parameter(param: &Parameter) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if param.name.is_empty() {
        errors.push(("name".to_owned(), "can't be blank".to_owned()));
    } else if param.name.chars().any(char::is_whitespace) {
        errors.push(("name".to_owned(), "can't contain spaces.".to_owned()));
    }
    if !KEY_TYPES.contains(&param.parameter_type.as_str()) {
        errors.push(("key_type".to_owned(), "invalid".to_owned()));
    } else if !casts(&param.value, &param.parameter_type) {
        errors.push((
            "value".to_owned(),
            format!("is invalid {}", param.parameter_type),
        ));
    }
    errors
}

fn casts(value: &str, parameter_type: &str) -> bool {
    let v = value.trim();
    match parameter_type {
        "boolean" => matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "t" | "yes" | "y" | "on" | "1" | "false" | "f" | "no" | "n" | "off" | "0"
        ),
        "integer" => v.parse::<i64>().is_ok(),
        "real" => v.parse::<f64>().is_ok(),
        "array" => v.is_empty() || matches!(serde_json::from_str(v), Ok(Value::Array(_))),
        "hash" | "json" => v.is_empty() || serde_json::from_str::<Value>(v).is_ok(),
        _ => true,
    }
}

/// The host names a search is limited to, when it is nothing but `name = x` or `name ^ (x,y)`
/// with plain names (anything else: `None`, every host is a candidate).
fn searched_names(search: &str) -> Option<Vec<&str>> {
    let rest = search.trim().strip_prefix("name")?.trim_start();
    let names: Vec<&str> = if let Some(list) = rest.strip_prefix('^') {
        let list = list.trim().strip_prefix('(')?.strip_suffix(')')?;
        list.split(',').map(str::trim).collect()
    } else {
        vec![rest.strip_prefix('=')?.trim().trim_matches('"')]
    };
    let plain = |n: &&str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    names.iter().all(plain).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pure_name_searches_narrow_the_candidates() {
        assert_eq!(
            searched_names("name ^ (a.lab, b-1.lab)"),
            Some(vec!["a.lab", "b-1.lab"])
        );
        assert_eq!(searched_names(r#"name = "a.lab""#), Some(vec!["a.lab"]));
        for wider in [
            "name ~ a",
            "name = a and build = true",
            "name ^ (a,b) or id ^ (5)",
            "build = true",
            "name ^ (a, b c)",
            "hostname = a",
        ] {
            assert_eq!(searched_names(wider), None, "{wider}");
        }
    }

    #[test]
    fn parameter_values_cast_by_type() {
        assert!(casts("yes", "boolean"));
        assert!(!casts("maybe", "boolean"));
        assert!(casts("42", "integer"));
        assert!(!casts("4.2", "integer"));
        assert!(casts("[1,2]", "array"));
        assert!(!casts("{", "json"));
        let param = Parameter {
            id: 1,
            name: "a b".into(),
            value: "x".into(),
            parameter_type: "integer".into(),
            hidden_value: false,
            created_at: 0.0,
            updated_at: 0.0,
        };
        assert_eq!(
            validate_parameter(&param),
            vec![
                ("name".to_owned(), "can't contain spaces.".to_owned()),
                ("value".to_owned(), "is invalid integer".to_owned())
            ]
        );
        assert_eq!(views::typed_value("true", "boolean"), Value::Bool(true));
    }
}
