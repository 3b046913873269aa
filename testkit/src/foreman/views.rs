//! Foreman's JSON views (its RABL templates): the fields of each record in an index, a show and
//! a write's answer, and the index envelope (`total`, `subtotal`, `page`, `per_page`, `search`,
//! `sort`, `results`).

use serde_json::{Map, Value, json};

use crate::machine::Machine;

use super::db::{
    Architecture, Filter, ForemanDb, Host, Hostgroup, Medium, Operatingsystem, Owner, Parameter,
    Permission, Ptable, Role, User, Usergroup, timestamp,
};

/// The index envelope.
#[derive(Debug, Clone)]
pub struct Page {
    /// Records the user may see.
    pub total: usize,
    /// Records matching the search.
    pub subtotal: usize,
    /// Page number.
    pub page: usize,
    /// Page size as answered (`per_page=all` answers the total).
    pub per_page: usize,
    /// The search as sent.
    pub search: Option<String>,
    /// `order` field.
    pub by: Option<String>,
    /// `order` direction.
    pub order: Option<String>,
}

impl Page {
    /// The envelope around `results`.
    #[must_use]
    pub fn wrap(&self, results: &[Value]) -> Value {
        json!({
            "total": self.total,
            "subtotal": self.subtotal,
            "page": self.page,
            "per_page": self.per_page,
            "search": self.search,
            "sort": {"by": self.by, "order": self.order},
            "results": results,
        })
    }
}

fn time(t: f64) -> Value {
    Value::from(timestamp(t))
}

fn opt_time(t: Option<f64>) -> Value {
    t.map_or(Value::Null, time)
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(base), Value::Object(extra)) = (&mut base, extra) {
        base.extend(extra);
    }
    base
}

/// `{id, name}` of a thin host listing.
#[must_use]
pub fn host_thin(host: &Host) -> Value {
    json!({"id": host.id, "name": host.name})
}

/// A host as an index lists it (`hosts/main`).
#[must_use]
pub fn host_main(db: &ForemanDb, host: &Host, machine: Option<&Machine>) -> Value {
    let os = host
        .operatingsystem_id
        .and_then(|id| db.operatingsystem(id));
    let ptable = host.ptable_id.and_then(|id| db.ptable(id));
    let medium = host.medium_id.and_then(|id| db.medium(id));
    let arch = host.architecture_id.and_then(|id| db.architecture(id));
    let group = host.hostgroup_id.and_then(|id| db.hostgroup(id));
    let domain = db.domains.iter().find(|d| d.id == host.domain_id);
    let model = host
        .model_id
        .and_then(|id| db.models.iter().find(|m| m.id == id));
    let build = machine.is_some_and(|m| m.build);
    let (owner_id, owner_type) = match host.owner {
        Some(Owner::User(id)) => (Some(id), Some("User")),
        Some(Owner::Usergroup(id)) => (Some(id), Some("Usergroup")),
        None => (None, None),
    };
    let mut map = Map::new();
    let mut set = |k: &str, v: Value| {
        map.insert(k.to_owned(), v);
    };
    set("ip", host.ip.as_str().into());
    set("ip6", Value::Null);
    set("environment_id", Value::Null);
    set("environment_name", Value::Null);
    set("last_report", Value::Null);
    set("mac", host.mac.as_str().into());
    set("realm_id", Value::Null);
    set("realm_name", Value::Null);
    set("sp_mac", Value::Null);
    set("sp_ip", Value::Null);
    set("sp_name", Value::Null);
    set("domain_id", host.domain_id.into());
    set("domain_name", domain.map(|d| d.name.as_str()).into());
    set("architecture_id", host.architecture_id.into());
    set("architecture_name", arch.map(|a| a.name.as_str()).into());
    set("operatingsystem_id", host.operatingsystem_id.into());
    set(
        "operatingsystem_name",
        os.map(Operatingsystem::title).into(),
    );
    set("subnet_id", Value::Null);
    set("subnet_name", Value::Null);
    set("subnet6_id", Value::Null);
    set("subnet6_name", Value::Null);
    set("sp_subnet_id", Value::Null);
    set("ptable_id", host.ptable_id.into());
    set("ptable_name", ptable.map(|p| p.name.as_str()).into());
    set("medium_id", host.medium_id.into());
    set("medium_name", medium.map(|m| m.name.as_str()).into());
    set("pxe_loader", "PXELinux BIOS".into());
    set("build", build.into());
    set("comment", host.comment.as_str().into());
    set("disk", "".into());
    set("initiated_at", opt_time(host.initiated_at));
    set(
        "installed_at",
        opt_time(machine.and_then(|m| m.installed_at)),
    );
    set("model_id", host.model_id.into());
    set("hostgroup_id", host.hostgroup_id.into());
    set("owner_id", owner_id.into());
    set("owner_name", db.owner_name(host.owner).into());
    set("owner_type", owner_type.into());
    set("creator_id", super::db::ADMIN_ID.into());
    set(
        "creator",
        db.user(super::db::ADMIN_ID).map(User::display_name).into(),
    );
    set("enabled", host.enabled.into());
    set("managed", host.managed.into());
    set("use_image", Value::Null);
    set("image_file", "".into());
    set("uuid", Value::Null);
    set("compute_resource_id", Value::Null);
    set("compute_resource_name", Value::Null);
    set("compute_profile_id", Value::Null);
    set("compute_profile_name", Value::Null);
    set("capabilities", json!(["build"]));
    set("provision_method", "build".into());
    set("certname", host.name.as_str().into());
    set("image_id", Value::Null);
    set("image_name", Value::Null);
    set("created_at", time(host.created_at));
    // Foreman saves the host when its install reports done.
    let installed = machine.and_then(|m| m.installed_at).unwrap_or(f64::MIN);
    set("updated_at", time(host.updated_at.max(installed)));
    set("last_compile", Value::Null);
    set("global_status", 0.into());
    set("global_status_label", "OK".into());
    set("uptime_seconds", Value::Null);
    set("organization_id", Value::Null);
    set("organization_name", Value::Null);
    set("location_id", Value::Null);
    set("location_name", Value::Null);
    set("puppet_status", 0.into());
    set("model_name", model.map(|m| m.name.as_str()).into());
    set("build_status", u8::from(build).into());
    set(
        "build_status_label",
        if build {
            "Pending installation"
        } else {
            "Installed"
        }
        .into(),
    );
    set("name", host.name.as_str().into());
    set("id", host.id.into());
    set("display_name", host.name.as_str().into());
    set("compute_resource_provider", Value::Null);
    set("hostgroup_name", group.map(|g| g.name.as_str()).into());
    set(
        "hostgroup_title",
        host.hostgroup_id.map(|id| db.hostgroup_title(id)).into(),
    );
    Value::Object(map)
}

/// A host parameter (`parameters/main`); a hidden value shows as `*****` unless `show_hidden`.
#[must_use]
pub fn parameter(param: &Parameter, show_hidden: bool) -> Value {
    let value = if param.hidden_value && !show_hidden {
        Value::from("*****")
    } else {
        typed_value(&param.value, &param.parameter_type)
    };
    json!({
        "priority": 70,
        "created_at": time(param.created_at),
        "updated_at": time(param.updated_at),
        "id": param.id,
        "name": param.name,
        "parameter_type": param.parameter_type,
        "associated_type": "host",
        "hidden_value?": param.hidden_value,
        "value": value,
    })
}

/// A parameter's value cast by its type, as Foreman serializes it.
#[must_use]
pub fn typed_value(value: &str, parameter_type: &str) -> Value {
    match parameter_type {
        "boolean" => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Value::Bool(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Value::Bool(false),
            _ => value.into(),
        },
        "integer" => value
            .trim()
            .parse::<i64>()
            .map_or_else(|_| value.into(), Value::from),
        "real" => value
            .trim()
            .parse::<f64>()
            .map_or_else(|_| value.into(), Value::from),
        "array" | "hash" | "json" => serde_json::from_str(value).unwrap_or_else(|_| value.into()),
        _ => value.into(),
    }
}

/// A host as a show or an update answers it (`hosts/show`): with its interfaces, parameters and
/// the current user's permissions on it.
#[must_use]
pub fn host_show(
    db: &ForemanDb,
    host: &Host,
    machine: Option<&Machine>,
    show_hidden: bool,
    permissions: &Value,
) -> Value {
    let params: Vec<Value> = host
        .parameters
        .iter()
        .map(|p| parameter(p, show_hidden))
        .collect();
    let all: Vec<Value> = host
        .parameters
        .iter()
        .map(|p| parameter(p, show_hidden))
        .collect();
    merge(
        host_main(db, host, machine),
        json!({
            "parameters": params,
            "all_parameters": all,
            "interfaces": [{
                "id": host.id,
                "name": host.name,
                "ip": host.ip,
                "ip6": null,
                "mac": host.mac,
                "mtu": 1500,
                "fqdn": host.name,
                "identifier": "",
                "primary": true,
                "provision": true,
                "nic_delay": null,
                "type": "interface",
                "managed": true,
                "domain_id": host.domain_id,
                "domain_name": db.domains.iter().find(|d| d.id == host.domain_id).map(|d| d.name.as_str()),
                "subnet_id": null,
                "subnet_name": null,
                "subnet6_id": null,
                "subnet6_name": null,
                "created_at": time(host.created_at),
                "updated_at": time(host.updated_at),
                "virtual": false,
            }],
            "permissions": permissions.clone(),
        }),
    )
}

/// A personal access token (never its value).
#[must_use]
pub fn token(t: &super::db::AccessToken, now: f64) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "expires_at": opt_time(t.expires_at),
        "active?": t.active(now),
        "user_id": t.user_id,
        "last_used_at": opt_time(t.last_used_at),
        "revoked?": t.revoked,
        "created_at": time(t.created_at),
        "updated_at": time(t.updated_at),
    })
}

/// `{name, id, description, origin}` of a role.
#[must_use]
pub fn role_base(role: &Role) -> Value {
    json!({"name": role.name, "id": role.id, "description": role.description, "origin": role.origin})
}

/// A role as an index lists it.
#[must_use]
pub fn role_main(role: &Role) -> Value {
    merge(
        role_base(role),
        json!({
            "builtin": role.builtin,
            "cloned_from_id": role.cloned_from_id,
            "created_at": time(role.created_at),
            "updated_at": time(role.updated_at),
        }),
    )
}

/// A role with its filters.
#[must_use]
pub fn role_show(db: &ForemanDb, role: &Role) -> Value {
    let filters: Vec<Value> = db
        .filters
        .iter()
        .filter(|f| f.role_id == role.id)
        .map(|f| json!({"id": f.id, "resource_type": filter_resource_type(db, f)}))
        .collect();
    merge(
        role_main(role),
        json!({"filters": filters, "locations": [], "organizations": []}),
    )
}

/// A permission.
#[must_use]
pub fn permission(p: &Permission) -> Value {
    json!({"name": p.name, "id": p.id, "resource_type": p.resource_type})
}

/// The resource type of a filter: its permissions'.
#[must_use]
pub fn filter_resource_type(db: &ForemanDb, filter: &Filter) -> Option<&'static str> {
    filter
        .permission_ids
        .iter()
        .filter_map(|p| db.permission(*p))
        .find_map(|p| p.resource_type)
}

/// A filter (`filters/show`).
#[must_use]
pub fn filter(db: &ForemanDb, filter: &Filter) -> Value {
    let resource_type = filter_resource_type(db, filter);
    let permissions: Vec<Value> = filter
        .permission_ids
        .iter()
        .filter_map(|p| db.permission(*p))
        .map(permission)
        .collect();
    json!({
        "search": filter.search,
        "resource_type_label": resource_type.unwrap_or("(Miscellaneous)"),
        "unlimited?": filter.search.is_none(),
        "created_at": time(filter.created_at),
        "updated_at": time(filter.updated_at),
        "override?": filter.override_,
        "id": filter.id,
        "resource_type": resource_type,
        "role": db.role(filter.role_id).map(role_base),
        "permissions": permissions.clone(),
        "locations": [],
        "organizations": [],
    })
}

/// `{id, login, description}` of a user.
#[must_use]
pub fn user_base(user: &User) -> Value {
    json!({"id": user.id, "login": user.login, "description": user.description})
}

/// A user as an index lists it.
#[must_use]
pub fn user_main(db: &ForemanDb, user: &User) -> Value {
    merge(
        user_base(user),
        json!({
            "firstname": user.firstname,
            "lastname": user.lastname,
            "mail": user.mail,
            "mail_enabled": user.mail_enabled,
            "admin": user.admin,
            "auth_source_id": user.auth_source_id,
            "disabled": user.disabled,
            "auth_source_name": "Internal",
            "timezone": user.timezone,
            "locale": user.locale,
            "last_login_on": opt_time(user.last_login_on),
            "created_at": time(user.created_at),
            "updated_at": time(user.updated_at),
            "ssh_keys": [],
            "effective_admin": db.effective_admin(user.id),
            "default_location": null,
            "locations": [],
            "default_organization": null,
            "organizations": [],
        }),
    )
}

/// A user with its groups and roles; `roles` lists the givable ones only (not "Default role").
#[must_use]
pub fn user_show(db: &ForemanDb, user: &User) -> Value {
    let group_json = |g: &Usergroup| {
        let roles: Vec<Value> = g
            .role_ids
            .iter()
            .filter_map(|r| db.role(*r))
            .map(role_base)
            .collect();
        merge(usergroup_base(g), json!({"roles": roles}))
    };
    let cached: Vec<Value> = db
        .usergroups_of(user.id)
        .iter()
        .filter_map(|g| db.usergroup(*g))
        .map(group_json)
        .collect();
    let direct: Vec<Value> = db
        .usergroups
        .iter()
        .filter(|g| g.user_ids.contains(&user.id))
        .map(group_json)
        .collect();
    let mut roles: Vec<&Role> = user
        .role_ids
        .iter()
        .filter_map(|r| db.role(*r))
        .filter(|r| r.builtin == 0)
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    merge(
        user_main(db, user),
        json!({
            "cached_usergroups": cached,
            "auth_source": {"id": user.auth_source_id, "name": "Internal", "type": "AuthSourceInternal"},
            "mail_notifications": [],
            "roles": roles.into_iter().map(role_base).collect::<Vec<_>>(),
            "usergroups": direct,
        }),
    )
}

/// `{name, id, created_at, updated_at}` of a user group.
#[must_use]
pub fn usergroup_base(group: &Usergroup) -> Value {
    json!({
        "name": group.name,
        "id": group.id,
        "created_at": time(group.created_at),
        "updated_at": time(group.updated_at),
    })
}

/// A user group as an index lists it.
#[must_use]
pub fn usergroup_main(group: &Usergroup) -> Value {
    merge(usergroup_base(group), json!({"admin": group.admin}))
}

/// A user group with its members and roles.
#[must_use]
pub fn usergroup_show(db: &ForemanDb, group: &Usergroup) -> Value {
    let users: Vec<Value> = group
        .user_ids
        .iter()
        .filter_map(|u| db.user(*u))
        .map(user_base)
        .collect();
    let groups: Vec<Value> = group
        .usergroup_ids
        .iter()
        .filter_map(|g| db.usergroup(*g))
        .map(usergroup_base)
        .collect();
    let roles: Vec<Value> = group
        .role_ids
        .iter()
        .filter_map(|r| db.role(*r))
        .map(role_base)
        .collect();
    merge(
        usergroup_main(group),
        json!({"external_usergroups": [], "usergroups": groups, "users": users, "roles": roles}),
    )
}

const SEEDED: f64 = -400.0 * 86_400.0;

/// `{id, name, title}` of an operating system.
#[must_use]
pub fn os_base(os: &Operatingsystem) -> Value {
    json!({"id": os.id, "name": os.name, "title": os.title()})
}

/// An operating system as an index lists it.
#[must_use]
pub fn os_main(os: &Operatingsystem) -> Value {
    merge(
        os_base(os),
        json!({
            "description": if os.description.is_empty() { Value::Null } else { os.description.clone().into() },
            "major": os.major,
            "minor": os.minor,
            "family": os.family,
            "release_name": "",
            "password_hash": "SHA512",
            "created_at": time(SEEDED),
            "updated_at": time(SEEDED),
        }),
    )
}

/// An operating system with its media, architectures and partition tables.
#[must_use]
pub fn os_show(db: &ForemanDb, os: &Operatingsystem) -> Value {
    let media: Vec<Value> = os
        .medium_ids
        .iter()
        .filter_map(|m| db.medium(*m))
        .map(|m| json!({"id": m.id, "name": m.name}))
        .collect();
    let archs: Vec<Value> = os
        .architecture_ids
        .iter()
        .filter_map(|a| db.architecture(*a))
        .map(|a| json!({"name": a.name, "id": a.id}))
        .collect();
    let ptables: Vec<Value> = os
        .ptable_ids
        .iter()
        .filter_map(|p| db.ptable(*p))
        .map(|p| json!({"name": p.name, "id": p.id}))
        .collect();
    merge(
        os_main(os),
        json!({
            "parameters": [],
            "media": media,
            "architectures": archs,
            "ptables": ptables,
            "provisioning_templates": [],
            "os_default_templates": [],
            "images": [],
        }),
    )
}

fn operatingsystems_with(db: &ForemanDb, pick: impl Fn(&Operatingsystem) -> bool) -> Vec<Value> {
    db.operatingsystems
        .iter()
        .filter(|o| pick(o))
        .map(os_base)
        .collect()
}

/// A partition table (`show` adds its operating systems).
#[must_use]
pub fn ptable(db: &ForemanDb, p: &Ptable, show: bool) -> Value {
    let main = json!({
        "name": p.name,
        "id": p.id,
        "description": p.description,
        "os_family": p.os_family,
        "created_at": time(SEEDED),
        "updated_at": time(SEEDED),
    });
    if show {
        merge(
            main,
            json!({
                "layout": "<%#\nkind: ptable\nname: ",
                "locked": true,
                "operatingsystems": operatingsystems_with(db, |o| o.ptable_ids.contains(&p.id)),
                "locations": [],
                "organizations": [],
            }),
        )
    } else {
        main
    }
}

/// A medium (`show` adds its operating systems).
#[must_use]
pub fn medium(db: &ForemanDb, m: &Medium, show: bool) -> Value {
    let main = json!({
        "id": m.id,
        "name": m.name,
        "path": m.path,
        "os_family": m.os_family,
        "created_at": time(SEEDED),
        "updated_at": time(SEEDED),
    });
    if show {
        merge(
            main,
            json!({
                "operatingsystems": operatingsystems_with(db, |o| o.medium_ids.contains(&m.id)),
                "locations": [],
                "organizations": [],
            }),
        )
    } else {
        main
    }
}

/// An architecture (`show` adds its operating systems).
#[must_use]
pub fn architecture(db: &ForemanDb, a: &Architecture, show: bool) -> Value {
    let main = json!({
        "name": a.name,
        "id": a.id,
        "created_at": time(SEEDED),
        "updated_at": time(SEEDED),
    });
    if show {
        merge(
            main,
            json!({
                "operatingsystems": operatingsystems_with(db, |o| o.architecture_ids.contains(&a.id)),
                "images": [],
            }),
        )
    } else {
        main
    }
}

/// A host group.
#[must_use]
pub fn hostgroup(db: &ForemanDb, g: &Hostgroup, show: bool) -> Value {
    let os = g.operatingsystem_id.and_then(|id| db.operatingsystem(id));
    let main = json!({
        "id": g.id,
        "name": g.name,
        "title": db.hostgroup_title(g.id),
        "description": g.description,
        "subnet_id": null,
        "subnet_name": null,
        "operatingsystem_id": g.operatingsystem_id,
        "operatingsystem_name": os.map(Operatingsystem::title),
        "domain_id": 1,
        "domain_name": "lab.example",
        "compute_profile_id": null,
        "compute_profile_name": null,
        "ancestry": g.parent_id.map(|p| p.to_string()),
        "parent_id": g.parent_id,
        "parent_name": g.parent_id.map(|p| db.hostgroup_title(p)),
        "ptable_id": g.ptable_id,
        "ptable_name": g.ptable_id.and_then(|id| db.ptable(id)).map(|p| p.name.as_str()),
        "medium_id": g.medium_id,
        "medium_name": g.medium_id.and_then(|id| db.medium(id)).map(|m| m.name.as_str()),
        "pxe_loader": "PXELinux BIOS",
        "subnet6_id": null,
        "subnet6_name": null,
        "compute_resource_id": null,
        "compute_resource_name": null,
        "architecture_id": g.architecture_id,
        "architecture_name": g.architecture_id.and_then(|id| db.architecture(id)).map(|a| a.name.as_str()),
        "realm_id": null,
        "realm_name": null,
        "created_at": time(SEEDED),
        "updated_at": time(SEEDED),
    });
    if show {
        merge(
            main,
            json!({"template_combinations": [], "locations": [], "organizations": []}),
        )
    } else {
        main
    }
}
