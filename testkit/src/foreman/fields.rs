//! The searchable fields of each kind of Foreman record, as Foreman's models declare them
//! (`scoped_search :on => ...`): names, kinds and the default fields a bare term searches.

use super::db::{
    Architecture, Filter, Host, Hostgroup, Medium, Operatingsystem, Owner, Parameter, Permission,
    Ptable, Role, User, Usergroup,
};
use super::search::{Ctx, Kind, Op, Searchable, Value, compare_text, compare_values};

fn opt_text(value: Option<String>) -> Vec<Value> {
    value.map(Value::Text).into_iter().collect()
}

fn text(value: &str) -> Vec<Value> {
    vec![value.into()]
}

fn non_empty(value: &str) -> Vec<Value> {
    if value.is_empty() {
        Vec::new()
    } else {
        text(value)
    }
}

impl Searchable for Host {
    fn kind(field: &str) -> Option<Kind> {
        if field.starts_with("params.") {
            return Some(Kind::Virtual);
        }
        Some(match field {
            "name" | "comment" | "model" | "hostgroup" | "hostgroup_name"
            | "hostgroup_fullname" | "hostgroup_title" | "domain" | "architecture" | "os"
            | "os_title" | "os_description" | "os_major" | "os_minor" | "ip" | "mac" | "has_ip"
            | "has_mac" | "owner_type" | "params_name" => Kind::Text,
            "id" | "owner_id" | "hostgroup_id" | "os_id" | "domain_id" => Kind::Integer,
            "build" | "managed" | "status.enabled" | "configuration_status.enabled" => Kind::Set,
            "user.login" | "owner" | "user.firstname" | "user.lastname" | "user.mail" => {
                Kind::Virtual
            }
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &[
            "name",
            "comment",
            "model",
            "hostgroup",
            "hostgroup_fullname",
            "domain",
            "architecture",
            "os",
            "os_description",
            "os_title",
            "ip",
            "mac",
        ]
    }

    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value> {
        let db = ctx.db;
        let os = self
            .operatingsystem_id
            .and_then(|id| db.operatingsystem(id));
        let group = self.hostgroup_id.and_then(|id| db.hostgroup(id));
        match field {
            "name" => text(&self.name),
            "comment" => non_empty(&self.comment),
            "model" => opt_text(
                self.model_id
                    .and_then(|id| db.models.iter().find(|m| m.id == id))
                    .map(|m| m.name.clone()),
            ),
            "hostgroup" | "hostgroup_name" => opt_text(group.map(|g| g.name.clone())),
            "hostgroup_fullname" | "hostgroup_title" => {
                opt_text(self.hostgroup_id.map(|id| db.hostgroup_title(id)))
            }
            "hostgroup_id" => self.hostgroup_id.map(Value::from).into_iter().collect(),
            "domain" => opt_text(
                db.domains
                    .iter()
                    .find(|d| d.id == self.domain_id)
                    .map(|d| d.name.clone()),
            ),
            "domain_id" => vec![self.domain_id.into()],
            "architecture" => opt_text(
                self.architecture_id
                    .and_then(|id| db.architecture(id))
                    .map(|a| a.name.clone()),
            ),
            "os" => opt_text(os.map(|o| o.name.clone())),
            "os_title" => opt_text(os.map(Operatingsystem::title)),
            "os_description" => opt_text(os.map(|o| o.description.clone())),
            "os_major" => opt_text(os.map(|o| o.major.clone())),
            "os_minor" => opt_text(os.map(|o| o.minor.clone())),
            "os_id" => self
                .operatingsystem_id
                .map(Value::from)
                .into_iter()
                .collect(),
            "ip" | "has_ip" => text(&self.ip),
            "mac" | "has_mac" => text(&self.mac),
            "id" => vec![self.id.into()],
            "owner_id" => match self.owner {
                Some(Owner::User(id) | Owner::Usergroup(id)) => vec![id.into()],
                None => Vec::new(),
            },
            "owner_type" => match self.owner {
                Some(Owner::User(_)) => text("User"),
                Some(Owner::Usergroup(_)) => text("Usergroup"),
                None => Vec::new(),
            },
            "params_name" => self
                .parameters
                .iter()
                .map(|p| Value::Text(p.name.clone()))
                .collect(),
            "build" => ctx
                .machines
                .get(self.index)
                .map(|m| Value::Bool(m.build))
                .into_iter()
                .collect(),
            "managed" => vec![self.managed.into()],
            "status.enabled" | "configuration_status.enabled" => vec![self.enabled.into()],
            _ => Vec::new(),
        }
    }

    fn virtual_match(&self, field: &str, op: Op, value: &str, ctx: &Ctx<'_>) -> bool {
        if let Some(name) = field.strip_prefix("params.") {
            return self
                .parameters
                .iter()
                .find(|p| p.name == name)
                .is_some_and(|p| compare_text(op, &p.value, value));
        }
        // Foreman's `search_by_user`: the users matching the condition, then the hosts owned by
        // one of them or by a group one of them belongs to.
        let db = ctx.db;
        let attribute = match field {
            "owner" => "login",
            other => other.strip_prefix("user.").unwrap_or(other),
        };
        let users: Vec<&User> = if value == "current_user" {
            let current = ctx.current_user.to_string();
            db.users
                .iter()
                .filter(|u| compare_values(op, &current, &[u.id.into()]))
                .collect()
        } else {
            db.users
                .iter()
                .filter(|u| {
                    let actual = match attribute {
                        "firstname" => &u.firstname,
                        "lastname" => &u.lastname,
                        "mail" => &u.mail,
                        _ => &u.login,
                    };
                    compare_text(op, actual, value)
                })
                .collect()
        };
        match self.owner {
            Some(Owner::User(id)) => users.iter().any(|u| u.id == id),
            Some(Owner::Usergroup(group)) => users
                .iter()
                .any(|u| db.usergroups_of(u.id).contains(&group)),
            None => false,
        }
    }
}

impl Searchable for User {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "login" | "firstname" | "lastname" | "mail" | "description" | "role" | "usergroup"
            | "auth_source" | "auth_source_type" => Kind::Text,
            "id" | "role_id" => Kind::Integer,
            "admin" | "disabled" => Kind::Set,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &[
            "login",
            "firstname",
            "lastname",
            "mail",
            "description",
            "role",
            "usergroup",
            "auth_source",
        ]
    }

    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value> {
        let db = ctx.db;
        match field {
            "id" => vec![self.id.into()],
            "login" => text(&self.login),
            "firstname" => non_empty(&self.firstname),
            "lastname" => non_empty(&self.lastname),
            "mail" => non_empty(&self.mail),
            "description" => non_empty(&self.description),
            "admin" => vec![db.effective_admin(self.id).into()],
            "disabled" => vec![self.disabled.into()],
            "role" => self
                .role_ids
                .iter()
                .filter_map(|r| db.role(*r))
                .map(|r| Value::Text(r.name.clone()))
                .collect(),
            "role_id" => self.role_ids.iter().map(|r| Value::from(*r)).collect(),
            "usergroup" => db
                .usergroups_of(self.id)
                .iter()
                .filter_map(|g| db.usergroup(*g))
                .map(|g| Value::Text(g.name.clone()))
                .collect(),
            "auth_source" => text("Internal"),
            "auth_source_type" => text("AuthSourceInternal"),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Role {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "description" | "permission" => Kind::Text,
            "id" => Kind::Integer,
            "builtin" | "locked" => Kind::Set,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "description"]
    }

    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => text(&self.name),
            "description" => opt_text(self.description.clone()),
            "builtin" => vec![(self.builtin != 0).into()],
            "locked" => vec![self.locked().into()],
            "permission" => ctx
                .db
                .filters
                .iter()
                .filter(|f| f.role_id == self.id)
                .flat_map(|f| f.permission_ids.iter())
                .filter_map(|p| ctx.db.permission(*p))
                .map(|p| Value::from(p.name))
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Filter {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "search" | "role" | "resource" | "permission" => Kind::Text,
            "id" | "role_id" => Kind::Integer,
            "override" | "limited" | "unlimited" => Kind::Set,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["search", "role", "resource", "permission"]
    }

    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value> {
        let permissions = || {
            self.permission_ids
                .iter()
                .filter_map(|p| ctx.db.permission(*p))
        };
        match field {
            "id" => vec![self.id.into()],
            "search" => opt_text(self.search.clone()),
            "role_id" => vec![self.role_id.into()],
            "role" => opt_text(ctx.db.role(self.role_id).map(|r| r.name.clone())),
            "resource" => permissions()
                .filter_map(|p| p.resource_type)
                .map(Value::from)
                .collect(),
            "permission" => permissions().map(|p| Value::from(p.name)).collect(),
            "override" => vec![self.override_.into()],
            "limited" => vec![self.search.is_some().into()],
            "unlimited" => vec![self.search.is_none().into()],
            _ => Vec::new(),
        }
    }
}

impl Searchable for Usergroup {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "role" => Kind::Text,
            "id" | "role_id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "role"]
    }

    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => text(&self.name),
            "role" => self
                .role_ids
                .iter()
                .filter_map(|r| ctx.db.role(*r))
                .map(|r| Value::Text(r.name.clone()))
                .collect(),
            "role_id" => self.role_ids.iter().map(|r| Value::from(*r)).collect(),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Operatingsystem {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "major" | "minor" | "description" | "family" | "title" | "architecture"
            | "medium" => Kind::Text,
            "id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "major", "minor", "description", "family", "title"]
    }

    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => text(&self.name),
            "major" => text(&self.major),
            "minor" => non_empty(&self.minor),
            "description" => non_empty(&self.description),
            "family" => text(&self.family),
            "title" => vec![self.title().into()],
            "architecture" => self
                .architecture_ids
                .iter()
                .filter_map(|a| ctx.db.architecture(*a))
                .map(|a| Value::Text(a.name.clone()))
                .collect(),
            "medium" => self
                .medium_ids
                .iter()
                .filter_map(|m| ctx.db.medium(*m))
                .map(|m| Value::Text(m.name.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Ptable {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "family" => Kind::Text,
            "id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "family"]
    }

    fn values(&self, field: &str, _ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => text(&self.name),
            "family" => text(&self.os_family),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Medium {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "path" | "family" => Kind::Text,
            "id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "path", "family"]
    }

    fn values(&self, field: &str, _ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => text(&self.name),
            "path" => text(&self.path),
            "family" => text(&self.os_family),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Architecture {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" => Kind::Text,
            "id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name"]
    }

    fn values(&self, field: &str, _ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => text(&self.name),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Hostgroup {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "label" | "title" => Kind::Text,
            "id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "label"]
    }

    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => text(&self.name),
            "label" | "title" => vec![ctx.db.hostgroup_title(self.id).into()],
            _ => Vec::new(),
        }
    }
}

impl Searchable for super::db::AccessToken {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" => Kind::Text,
            "id" | "user_id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name"]
    }

    fn values(&self, field: &str, _ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "user_id" => vec![self.user_id.into()],
            "name" => text(&self.name),
            _ => Vec::new(),
        }
    }
}

impl Searchable for Permission {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "resource_type" => Kind::Text,
            "id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "resource_type"]
    }

    fn values(&self, field: &str, _ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.id.into()],
            "name" => vec![self.name.into()],
            "resource_type" => self.resource_type.map(Value::from).into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// A host parameter with its host, as a search over parameters sees it.
#[derive(Debug, Clone, Copy)]
pub struct HostParam<'a> {
    /// The host.
    pub host: &'a Host,
    /// The parameter.
    pub param: &'a Parameter,
}

impl Searchable for HostParam<'_> {
    fn kind(field: &str) -> Option<Kind> {
        Some(match field {
            "name" | "type" | "value" | "key_type" | "parameter_type" | "host_name" => Kind::Text,
            "id" => Kind::Integer,
            _ => return None,
        })
    }

    fn default_fields() -> &'static [&'static str] {
        &["name", "type", "value", "key_type"]
    }

    fn values(&self, field: &str, _ctx: &Ctx<'_>) -> Vec<Value> {
        match field {
            "id" => vec![self.param.id.into()],
            "name" => text(&self.param.name),
            "type" => text("HostParameter"),
            "value" => text(&self.param.value),
            "key_type" | "parameter_type" => text(&self.param.parameter_type),
            "host_name" => text(&self.host.name),
            _ => Vec::new(),
        }
    }
}

/// Checks a filter's search against the fields of its resource type.
///
/// # Errors
/// Foreman's message for a query its resource cannot run.
pub fn check_for_resource(
    resource_type: Option<&str>,
    search: &str,
) -> Result<(), super::search::QueryError> {
    use super::search::compile;
    match resource_type {
        Some("Host") => compile::<Host>(search).map(drop),
        Some("User") => compile::<User>(search).map(drop),
        Some("Role") => compile::<Role>(search).map(drop),
        Some("Filter") => compile::<Filter>(search).map(drop),
        Some("Usergroup") => compile::<Usergroup>(search).map(drop),
        Some("Operatingsystem") => compile::<Operatingsystem>(search).map(drop),
        Some("Ptable") => compile::<Ptable>(search).map(drop),
        Some("Medium") => compile::<Medium>(search).map(drop),
        Some("Architecture") => compile::<Architecture>(search).map(drop),
        Some("Hostgroup") => compile::<Hostgroup>(search).map(drop),
        Some("Parameter") => compile::<HostParam<'_>>(search).map(drop),
        Some("PersonalAccessToken") => compile::<super::db::AccessToken>(search).map(drop),
        _ => super::search::parse(search).map(drop),
    }
}
