//! The routes of the fake Foreman: a method and path to an action and its endpoint template
//! (`PUT /api/hosts/:id`), as Foreman's `config/routes/api/v2.rb` draws them. Pure: no state.
//!
//! `/api/v2/...` is the same as `/api/...`; a trailing slash is ignored; PATCH updates like PUT.

use http::Method;

/// A collection of records besides hosts and their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `/api/users`.
    Users,
    /// `/api/roles`.
    Roles,
    /// `/api/filters`.
    Filters,
    /// `/api/usergroups`.
    Usergroups,
    /// `/api/permissions`.
    Permissions,
    /// `/api/operatingsystems`.
    Operatingsystems,
    /// `/api/ptables`.
    Ptables,
    /// `/api/media`.
    Media,
    /// `/api/architectures`.
    Architectures,
    /// `/api/hostgroups`.
    Hostgroups,
}

impl Collection {
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "users" => Self::Users,
            "roles" => Self::Roles,
            "filters" => Self::Filters,
            "usergroups" => Self::Usergroups,
            "permissions" => Self::Permissions,
            "operatingsystems" => Self::Operatingsystems,
            "ptables" => Self::Ptables,
            "media" => Self::Media,
            "architectures" => Self::Architectures,
            "hostgroups" => Self::Hostgroups,
            _ => return None,
        })
    }

    /// The path segment.
    #[must_use]
    pub fn segment(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Roles => "roles",
            Self::Filters => "filters",
            Self::Usergroups => "usergroups",
            Self::Permissions => "permissions",
            Self::Operatingsystems => "operatingsystems",
            Self::Ptables => "ptables",
            Self::Media => "media",
            Self::Architectures => "architectures",
            Self::Hostgroups => "hostgroups",
        }
    }

    /// Foreman's resource name in messages (`Resource user not found by id 'x'`).
    #[must_use]
    pub fn resource(self) -> &'static str {
        match self {
            Self::Users => "user",
            Self::Roles => "role",
            Self::Filters => "filter",
            Self::Usergroups => "usergroup",
            Self::Permissions => "permission",
            Self::Operatingsystems => "operatingsystem",
            Self::Ptables => "ptable",
            Self::Media => "medium",
            Self::Architectures => "architecture",
            Self::Hostgroups => "hostgroup",
        }
    }

    /// Whether the lab serves writes to it.
    #[must_use]
    pub fn writable(self) -> bool {
        matches!(
            self,
            Self::Users | Self::Roles | Self::Filters | Self::Usergroups
        )
    }

    /// The permission an action on it needs (`view`, `create`, `edit`, `destroy`).
    #[must_use]
    pub fn permission(self, action: &str) -> &'static str {
        match (self, action) {
            (Self::Permissions, _) | (Self::Filters, "edit") => "edit_filters",
            (Self::Users, "create") => "create_users",
            (Self::Users, "edit") => "edit_users",
            (Self::Users, "destroy") => "destroy_users",
            (Self::Users, _) => "view_users",
            (Self::Roles, "create") => "create_roles",
            (Self::Roles, "edit") => "edit_roles",
            (Self::Roles, "destroy") => "destroy_roles",
            (Self::Roles, _) => "view_roles",
            (Self::Filters, "create") => "create_filters",
            (Self::Filters, "destroy") => "destroy_filters",
            (Self::Filters, _) => "view_filters",
            (Self::Usergroups, "create") => "create_usergroups",
            (Self::Usergroups, "edit") => "edit_usergroups",
            (Self::Usergroups, "destroy") => "destroy_usergroups",
            (Self::Usergroups, _) => "view_usergroups",
            (Self::Operatingsystems, _) => "view_operatingsystems",
            (Self::Ptables, _) => "view_ptables",
            (Self::Media, _) => "view_media",
            (Self::Architectures, _) => "view_architectures",
            (Self::Hostgroups, _) => "view_hostgroups",
        }
    }
}

/// The parent of a nested index (`/api/roles/:role_id/users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nest {
    /// Under a role.
    Role(String),
    /// Under a user.
    User(String),
    /// Under a user group.
    Usergroup(String),
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `GET /api/status`.
    Status,
    /// `GET /api/ping` (no authentication).
    Ping,
    /// `GET /api/current_user`.
    CurrentUser,
    /// `GET /api/hosts`, or `GET /api/hostgroups/:hostgroup_id/hosts`.
    HostIndex(Option<String>),
    /// `GET /api/hosts/:id`.
    HostShow(String),
    /// `PUT /api/hosts/:id`.
    HostUpdate(String),
    /// `GET /api/hosts/:host_id/parameters`.
    ParamIndex(String),
    /// `GET /api/hosts/:host_id/parameters/:id`.
    ParamShow(String, String),
    /// `POST /api/hosts/:host_id/parameters`.
    ParamCreate(String),
    /// `PUT /api/hosts/:host_id/parameters/:id`.
    ParamUpdate(String, String),
    /// `DELETE /api/hosts/:host_id/parameters/:id`.
    ParamDestroy(String, String),
    /// `DELETE /api/hosts/:host_id/parameters`.
    ParamReset(String),
    /// `GET /api/users/:user_id/personal_access_tokens`.
    TokenIndex(String),
    /// `GET /api/users/:user_id/personal_access_tokens/:id`.
    TokenShow(String, String),
    /// `POST /api/users/:user_id/personal_access_tokens`.
    TokenCreate(String),
    /// `DELETE /api/users/:user_id/personal_access_tokens/:id` (revokes it).
    TokenRevoke(String, String),
    /// `GET` of a collection, perhaps nested.
    Index(Collection, Option<Nest>),
    /// `GET` of one record.
    Show(Collection, String),
    /// `POST` to a collection (a filter may be created under its role).
    Create(Collection, Option<Nest>),
    /// `PUT` of one record.
    Update(Collection, String),
    /// `DELETE` of one record.
    Destroy(Collection, String),
    /// No route matches.
    NoRoute,
}

/// An action and the endpoint template it is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The action.
    pub action: Action,
    /// `METHOD /api/path/:id`.
    pub template: String,
}

/// Routes a request.
#[must_use]
pub fn route(method: &Method, path: &str) -> Routed {
    let trimmed = path.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("/api/v2")
        .or_else(|| trimmed.strip_prefix("/api"));
    let segments: Vec<&str> = match rest {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            rest.split('/').filter(|s| !s.is_empty()).collect()
        }
        _ => Vec::new(),
    };
    let put = *method == Method::PUT || *method == Method::PATCH;
    let verb = if *method == Method::PATCH {
        "PUT"
    } else {
        method.as_str()
    };
    let (action, template): (Action, String) = match (segments.as_slice(), method) {
        (["status"], &Method::GET) => (Action::Status, "/api/status".into()),
        (["ping"], &Method::GET) => (Action::Ping, "/api/ping".into()),
        (["current_user"], &Method::GET) => (Action::CurrentUser, "/api/current_user".into()),
        (["hosts"], &Method::GET) => (Action::HostIndex(None), "/api/hosts".into()),
        (["hosts", id], &Method::GET) => (Action::HostShow((*id).into()), "/api/hosts/:id".into()),
        (["hosts", id], _) if put => (Action::HostUpdate((*id).into()), "/api/hosts/:id".into()),
        (["hostgroups", group, "hosts"], &Method::GET) => (
            Action::HostIndex(Some((*group).into())),
            "/api/hostgroups/:hostgroup_id/hosts".into(),
        ),
        (["hosts", host, "parameters"], m) => {
            let action = match *m {
                Method::GET => Action::ParamIndex((*host).into()),
                Method::POST => Action::ParamCreate((*host).into()),
                Method::DELETE => Action::ParamReset((*host).into()),
                _ => Action::NoRoute,
            };
            (action, "/api/hosts/:host_id/parameters".into())
        }
        (["hosts", host, "parameters", id], m) => {
            let (host, id) = ((*host).to_owned(), (*id).to_owned());
            let action = match *m {
                Method::GET => Action::ParamShow(host, id),
                Method::DELETE => Action::ParamDestroy(host, id),
                _ if put => Action::ParamUpdate(host, id),
                _ => Action::NoRoute,
            };
            (action, "/api/hosts/:host_id/parameters/:id".into())
        }
        (["users", user, "personal_access_tokens"], m) => {
            let action = match *m {
                Method::GET => Action::TokenIndex((*user).into()),
                Method::POST => Action::TokenCreate((*user).into()),
                _ => Action::NoRoute,
            };
            (action, "/api/users/:user_id/personal_access_tokens".into())
        }
        (["users", user, "personal_access_tokens", id], m) => {
            let (user, id) = ((*user).to_owned(), (*id).to_owned());
            let action = match *m {
                Method::GET => Action::TokenShow(user, id),
                Method::DELETE => Action::TokenRevoke(user, id),
                _ => Action::NoRoute,
            };
            (
                action,
                "/api/users/:user_id/personal_access_tokens/:id".into(),
            )
        }
        ([parent, key, child], &Method::GET) => {
            let nest = match *parent {
                "roles" => Some(Nest::Role((*key).into())),
                "users" => Some(Nest::User((*key).into())),
                "usergroups" => Some(Nest::Usergroup((*key).into())),
                _ => None,
            };
            let collection = Collection::parse(child);
            let allowed = matches!(
                (*parent, collection),
                ("roles", Some(Collection::Filters | Collection::Users))
                    | ("users", Some(Collection::Roles | Collection::Usergroups))
                    | ("usergroups", Some(Collection::Users))
            );
            match (nest, collection) {
                (Some(nest), Some(collection)) if allowed => (
                    Action::Index(collection, Some(nest)),
                    format!("/api/{parent}/:{}_id/{child}", singular(parent)),
                ),
                _ => (Action::NoRoute, String::new()),
            }
        }
        (["roles", role, "filters"], &Method::POST) => (
            Action::Create(Collection::Filters, Some(Nest::Role((*role).into()))),
            "/api/roles/:role_id/filters".into(),
        ),
        ([name], m) => match Collection::parse(name) {
            Some(c) if *m == Method::GET => (Action::Index(c, None), format!("/api/{name}")),
            Some(c) if *m == Method::POST && c.writable() => {
                (Action::Create(c, None), format!("/api/{name}"))
            }
            _ => (Action::NoRoute, String::new()),
        },
        ([name, id], m) => match Collection::parse(name) {
            Some(c) if *m == Method::GET => {
                (Action::Show(c, (*id).into()), format!("/api/{name}/:id"))
            }
            Some(c) if put && c.writable() => {
                (Action::Update(c, (*id).into()), format!("/api/{name}/:id"))
            }
            Some(c) if *m == Method::DELETE && c.writable() => {
                (Action::Destroy(c, (*id).into()), format!("/api/{name}/:id"))
            }
            _ => (Action::NoRoute, String::new()),
        },
        _ => (Action::NoRoute, String::new()),
    };
    let template = if action == Action::NoRoute {
        format!("{} (no route)", method.as_str())
    } else {
        format!("{verb} {template}")
    };
    Routed { action, template }
}

fn singular(collection: &str) -> &str {
    match collection {
        "roles" => "role",
        "users" => "user",
        "usergroups" => "usergroup",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_templates() {
        let r = route(&Method::GET, "/api/hosts/f01.lab.example");
        assert_eq!(r.action, Action::HostShow("f01.lab.example".into()));
        assert_eq!(r.template, "GET /api/hosts/:id");
        let r = route(&Method::PATCH, "/api/v2/hosts/3/");
        assert_eq!(r.action, Action::HostUpdate("3".into()));
        assert_eq!(r.template, "PUT /api/hosts/:id");
        let r = route(&Method::DELETE, "/api/hosts/3/parameters/cloud");
        assert_eq!(r.action, Action::ParamDestroy("3".into(), "cloud".into()));
        assert_eq!(r.template, "DELETE /api/hosts/:host_id/parameters/:id");
        let r = route(&Method::GET, "/api/roles/7/users");
        assert_eq!(
            r.action,
            Action::Index(Collection::Users, Some(Nest::Role("7".into())))
        );
        assert_eq!(r.template, "GET /api/roles/:role_id/users");
        assert_eq!(
            route(&Method::POST, "/api/roles/7/filters").action,
            Action::Create(Collection::Filters, Some(Nest::Role("7".into())))
        );
        assert_eq!(
            route(&Method::GET, "/api/hostgroups/lab/hosts").action,
            Action::HostIndex(Some("lab".into()))
        );
        assert_eq!(
            route(&Method::PUT, "/api/users/bob").action,
            Action::Update(Collection::Users, "bob".into())
        );
        let r = route(&Method::DELETE, "/api/users/5/personal_access_tokens/2");
        assert_eq!(r.action, Action::TokenRevoke("5".into(), "2".into()));
        assert_eq!(
            r.template,
            "DELETE /api/users/:user_id/personal_access_tokens/:id"
        );
        assert_eq!(route(&Method::POST, "/api/media").action, Action::NoRoute);
        assert_eq!(route(&Method::GET, "/apix/hosts").action, Action::NoRoute);
        assert_eq!(route(&Method::GET, "/hosts").action, Action::NoRoute);
        assert_eq!(route(&Method::GET, "/api/bogus").template, "GET (no route)");
    }
}
