//! Foreman's records: hosts and their parameters, users, roles, filters, permissions, user groups,
//! the provisioning catalog (operating systems, partition tables, media, architectures, host
//! groups) and API sessions, seeded from the lab's machines.
//!
//! A host's `build` flag and `installed_at` are not here: they live in its [`Machine`], which
//! clears `build` when an install finishes. Times are lab seconds since the lab started (seeded
//! records are older, so negative); [`timestamp`] prints them as Foreman does.

use std::collections::{BTreeSet, HashMap};

use crate::clock::mix;
use crate::lab::LabConfig;
use crate::machine::Machine;

/// A record id.
pub type Id = u64;

/// The id of the administrator (Foreman's hidden system users hold ids 1 to 3).
pub const ADMIN_ID: Id = 4;
/// The id of the internal authentication source.
pub const INTERNAL_AUTH_SOURCE: Id = 1;
/// Foreman's `Role::BUILTIN_DEFAULT_ROLE`.
pub const BUILTIN_DEFAULT_ROLE: u8 = 2;
/// The default `entries_per_page` setting.
pub const ENTRIES_PER_PAGE: usize = 20;
/// Idle lab seconds after which an API session expires (the `idle_timeout` setting, 60 minutes).
pub const SESSION_IDLE_TIMEOUT: f64 = 3600.0;
/// Failed logins after which Foreman refuses every login from the address for 5 minutes (the
/// `failed_login_attempts_limit` setting). Every lab client comes from loopback: one counter.
pub const FAILED_LOGIN_LIMIT: u32 = 30;
/// How long (lab seconds) the failed-login counter lives after the last failure.
pub const FAILED_LOGIN_WINDOW: f64 = 300.0;
/// Sessions kept at most; past it the least recently used are forgotten (Foreman's session
/// table is cleaned by a cron job; a lab serving millions of Basic requests must not grow).
const MAX_SESSIONS: usize = 10_000;

/// Who owns a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A user.
    User(Id),
    /// A user group.
    Usergroup(Id),
}

/// A host parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Id.
    pub id: Id,
    /// Name (unique per host).
    pub name: String,
    /// The value as sent (cast by `parameter_type` when shown).
    pub value: String,
    /// `string`, `boolean`, `integer`, `real`, `array`, `hash`, `yaml` or `json`.
    pub parameter_type: String,
    /// Whether the value is hidden (`*****`) when shown.
    pub hidden_value: bool,
    /// Created at (lab seconds).
    pub created_at: f64,
    /// Updated at (lab seconds).
    pub updated_at: f64,
}

/// A host (Foreman's `Host::Managed`).
#[derive(Debug, Clone)]
pub struct Host {
    /// Id.
    pub id: Id,
    /// The machine's index in the lab.
    pub index: usize,
    /// FQDN.
    pub name: String,
    /// Primary interface IPv4.
    pub ip: String,
    /// Provisioning interface MAC.
    pub mac: String,
    /// Domain.
    pub domain_id: Id,
    /// Hardware model.
    pub model_id: Option<Id>,
    /// Owner.
    pub owner: Option<Owner>,
    /// Operating system.
    pub operatingsystem_id: Option<Id>,
    /// Partition table.
    pub ptable_id: Option<Id>,
    /// Installation medium.
    pub medium_id: Option<Id>,
    /// Architecture.
    pub architecture_id: Option<Id>,
    /// Host group.
    pub hostgroup_id: Option<Id>,
    /// Free text.
    pub comment: String,
    /// Included in reporting.
    pub enabled: bool,
    /// Managed by Foreman.
    pub managed: bool,
    /// When build mode was last entered.
    pub initiated_at: Option<f64>,
    /// Created at.
    pub created_at: f64,
    /// Updated at.
    pub updated_at: f64,
    /// Host parameters, by name.
    pub parameters: Vec<Parameter>,
}

/// A user.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: Id,
    /// Login (unique, case-insensitively).
    pub login: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// E-mail.
    pub mail: String,
    /// Description.
    pub description: String,
    /// Administrator flag.
    pub admin: bool,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Authentication source.
    pub auth_source_id: Id,
    /// The password (lab fixture: kept in clear).
    pub password: Option<String>,
    /// Roles, including the automatic "Default role".
    pub role_ids: BTreeSet<Id>,
    /// Locale.
    pub locale: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// Mail enabled.
    pub mail_enabled: bool,
    /// Last login.
    pub last_login_on: Option<f64>,
    /// Created at.
    pub created_at: f64,
    /// Updated at.
    pub updated_at: f64,
}

impl User {
    /// Foreman's display name: first and last name, else the login.
    #[must_use]
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.firstname, self.lastname);
        let name = name.trim();
        if name.is_empty() {
            self.login.clone()
        } else {
            name.to_owned()
        }
    }
}

/// A role.
#[derive(Debug, Clone)]
pub struct Role {
    /// Id.
    pub id: Id,
    /// Name (unique).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// 0 for ordinary roles, 2 for "Default role".
    pub builtin: u8,
    /// `foreman` for seeded roles (which are locked).
    pub origin: Option<String>,
    /// The role this one was cloned from.
    pub cloned_from_id: Option<Id>,
    /// Created at.
    pub created_at: f64,
    /// Updated at.
    pub updated_at: f64,
}

impl Role {
    /// Seeded roles cannot be changed by users ("Default role" can).
    #[must_use]
    pub fn locked(&self) -> bool {
        self.origin.is_some() && self.builtin != BUILTIN_DEFAULT_ROLE
    }
}

/// A filter: some permissions of a role, limited to the records a search matches.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Id.
    pub id: Id,
    /// The role.
    pub role_id: Id,
    /// The search (none = unlimited).
    pub search: Option<String>,
    /// Permissions, all of one resource type.
    pub permission_ids: Vec<Id>,
    /// Override the role's taxonomies.
    pub override_: bool,
    /// Created at.
    pub created_at: f64,
    /// Updated at.
    pub updated_at: f64,
}

/// A permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// Id.
    pub id: Id,
    /// Name, e.g. `view_hosts`.
    pub name: &'static str,
    /// The resource type, e.g. `Host`; `None` for global permissions.
    pub resource_type: Option<&'static str>,
}

/// Foreman's permissions (a subset of its seeded list, in its order).
const PERMISSIONS: &[(Option<&str>, &str)] = &[
    (Some("Architecture"), "view_architectures"),
    (Some("Architecture"), "create_architectures"),
    (Some("Architecture"), "edit_architectures"),
    (Some("Architecture"), "destroy_architectures"),
    (Some("Audit"), "view_audit_logs"),
    (None, "access_dashboard"),
    (Some("Domain"), "view_domains"),
    (Some("Domain"), "create_domains"),
    (Some("Domain"), "edit_domains"),
    (Some("Domain"), "destroy_domains"),
    (Some("Filter"), "view_filters"),
    (Some("Filter"), "create_filters"),
    (Some("Filter"), "edit_filters"),
    (Some("Filter"), "destroy_filters"),
    (Some("Hostgroup"), "view_hostgroups"),
    (Some("Hostgroup"), "create_hostgroups"),
    (Some("Hostgroup"), "edit_hostgroups"),
    (Some("Hostgroup"), "destroy_hostgroups"),
    (Some("Host"), "view_hosts"),
    (Some("Host"), "create_hosts"),
    (Some("Host"), "edit_hosts"),
    (Some("Host"), "destroy_hosts"),
    (Some("Host"), "build_hosts"),
    (Some("Host"), "power_hosts"),
    (Some("Host"), "console_hosts"),
    (Some("Host"), "ipmi_boot_hosts"),
    (Some("Host"), "forget_status_hosts"),
    (Some("Medium"), "view_media"),
    (Some("Medium"), "create_media"),
    (Some("Medium"), "edit_media"),
    (Some("Medium"), "destroy_media"),
    (Some("Model"), "view_models"),
    (Some("Operatingsystem"), "view_operatingsystems"),
    (Some("Operatingsystem"), "create_operatingsystems"),
    (Some("Operatingsystem"), "edit_operatingsystems"),
    (Some("Operatingsystem"), "destroy_operatingsystems"),
    (Some("Parameter"), "view_params"),
    (Some("Parameter"), "create_params"),
    (Some("Parameter"), "edit_params"),
    (Some("Parameter"), "destroy_params"),
    (Some("Ptable"), "view_ptables"),
    (Some("Ptable"), "create_ptables"),
    (Some("Ptable"), "edit_ptables"),
    (Some("Ptable"), "destroy_ptables"),
    (Some("Ptable"), "lock_ptables"),
    (Some("Role"), "view_roles"),
    (Some("Role"), "create_roles"),
    (Some("Role"), "edit_roles"),
    (Some("Role"), "destroy_roles"),
    (None, "escalate_roles"),
    (Some("Usergroup"), "view_usergroups"),
    (Some("Usergroup"), "create_usergroups"),
    (Some("Usergroup"), "edit_usergroups"),
    (Some("Usergroup"), "destroy_usergroups"),
    (Some("User"), "view_users"),
    (Some("User"), "create_users"),
    (Some("User"), "edit_users"),
    (Some("User"), "destroy_users"),
    (None, "view_statuses"),
    (Some("PersonalAccessToken"), "view_personal_access_tokens"),
    (Some("PersonalAccessToken"), "create_personal_access_tokens"),
    (Some("PersonalAccessToken"), "revoke_personal_access_tokens"),
];

/// A personal access token: used as the password of Basic authentication.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// Id.
    pub id: Id,
    /// Its user.
    pub user_id: Id,
    /// Name (unique per user).
    pub name: String,
    /// The secret (lab fixture: kept in clear; shown once, at creation).
    pub value: String,
    /// Expiry (lab seconds), if any.
    pub expires_at: Option<f64>,
    /// Revoked tokens never authenticate.
    pub revoked: bool,
    /// Last authentication with it.
    pub last_used_at: Option<f64>,
    /// Created at.
    pub created_at: f64,
    /// Updated at.
    pub updated_at: f64,
}

impl AccessToken {
    /// Not revoked and not expired at `now`.
    #[must_use]
    pub fn active(&self, now: f64) -> bool {
        !self.revoked && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A user group.
#[derive(Debug, Clone)]
pub struct Usergroup {
    /// Id.
    pub id: Id,
    /// Name (unique).
    pub name: String,
    /// Members are administrators.
    pub admin: bool,
    /// Member users.
    pub user_ids: BTreeSet<Id>,
    /// Member groups.
    pub usergroup_ids: BTreeSet<Id>,
    /// Roles of every member.
    pub role_ids: BTreeSet<Id>,
    /// Created at.
    pub created_at: f64,
    /// Updated at.
    pub updated_at: f64,
}

/// An operating system.
#[derive(Debug, Clone)]
pub struct Operatingsystem {
    /// Id.
    pub id: Id,
    /// Name (no spaces), e.g. `RedHat`.
    pub name: String,
    /// Major version.
    pub major: String,
    /// Minor version.
    pub minor: String,
    /// Description; when set it is also the title.
    pub description: String,
    /// Family, e.g. `Redhat`.
    pub family: String,
    /// Partition tables usable with it.
    pub ptable_ids: Vec<Id>,
    /// Media usable with it.
    pub medium_ids: Vec<Id>,
    /// Architectures usable with it.
    pub architecture_ids: Vec<Id>,
}

impl Operatingsystem {
    /// Foreman's title: the description if any, else `name major[.minor]` (lookups by name use it).
    #[must_use]
    pub fn title(&self) -> String {
        if self.description.is_empty() {
            if self.minor.is_empty() {
                format!("{} {}", self.name, self.major)
            } else {
                format!("{} {}.{}", self.name, self.major, self.minor)
            }
        } else {
            self.description.clone()
        }
    }
}

/// A partition table.
#[derive(Debug, Clone)]
pub struct Ptable {
    /// Id.
    pub id: Id,
    /// Name (unique).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// OS family.
    pub os_family: String,
}

/// An installation medium.
#[derive(Debug, Clone)]
pub struct Medium {
    /// Id.
    pub id: Id,
    /// Name (unique).
    pub name: String,
    /// URL template (unique).
    pub path: String,
    /// OS family.
    pub os_family: String,
}

/// A CPU architecture.
#[derive(Debug, Clone)]
pub struct Architecture {
    /// Id.
    pub id: Id,
    /// Name (unique).
    pub name: String,
}

/// A host group.
#[derive(Debug, Clone)]
pub struct Hostgroup {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Parent group.
    pub parent_id: Option<Id>,
    /// Description.
    pub description: Option<String>,
    /// Operating system.
    pub operatingsystem_id: Option<Id>,
    /// Architecture.
    pub architecture_id: Option<Id>,
    /// Partition table.
    pub ptable_id: Option<Id>,
    /// Medium.
    pub medium_id: Option<Id>,
}

/// A domain.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
}

/// A hardware model.
#[derive(Debug, Clone)]
pub struct HardwareModel {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
}

/// An API session (the `_session_id` cookie).
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user_id: Id,
    /// Lab seconds of the last request.
    pub last_seen: f64,
}

/// Foreman's records (hosts, users, roles, catalog).
#[derive(Debug, Default)]
pub struct ForemanDb {
    /// Hosts, by machine index.
    pub hosts: Vec<Host>,
    host_by_name: HashMap<String, usize>,
    /// Users.
    pub users: Vec<User>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Filters.
    pub filters: Vec<Filter>,
    /// Permissions.
    pub permissions: Vec<Permission>,
    /// User groups.
    pub usergroups: Vec<Usergroup>,
    /// Operating systems.
    pub operatingsystems: Vec<Operatingsystem>,
    /// Partition tables.
    pub ptables: Vec<Ptable>,
    /// Installation media.
    pub media: Vec<Medium>,
    /// Architectures.
    pub architectures: Vec<Architecture>,
    /// Host groups.
    pub hostgroups: Vec<Hostgroup>,
    /// Domains.
    pub domains: Vec<Domain>,
    /// Hardware models.
    pub models: Vec<HardwareModel>,
    /// API sessions by cookie value.
    pub sessions: HashMap<String, Session>,
    /// Personal access tokens.
    pub tokens: Vec<AccessToken>,
    /// Failed logins counted for the brute-force protection, and when the count expires.
    login_failures: (u32, f64),
    next_id: HashMap<&'static str, Id>,
    session_counter: u64,
    seed: u64,
}

/// The seeded roles: name, description, permissions ("*" = every permission, "view_*" = every
/// view permission).
const ROLES: &[(&str, &str, &[&str])] = &[
    (
        "Default role",
        "Role that is automatically assigned to every user in the system. Adding a permission grants it to everybody",
        &[],
    ),
    (
        "Manager",
        "Role granting all available permissions. With this role, user is able to do everything that admin can except for changing settings.",
        &["*"],
    ),
    (
        "Organization admin",
        "Role granting all permissions except for managing organizations. It can be used to delegate administration of specific organization to a user. In order to create such role, clone this role and assign desired organizations",
        &["*"],
    ),
    (
        "System admin",
        "Role granting permissions for managing organizations, locations, users, usergroups, auth sources, roles, filters and settings. This is a very powerful role that can potentially gain access to all resources.",
        &[
            "view_users",
            "create_users",
            "edit_users",
            "destroy_users",
            "view_usergroups",
            "create_usergroups",
            "edit_usergroups",
            "destroy_usergroups",
            "view_roles",
            "create_roles",
            "edit_roles",
            "destroy_roles",
            "view_filters",
            "create_filters",
            "edit_filters",
            "destroy_filters",
            "escalate_roles",
        ],
    ),
    (
        "Edit partition tables",
        "Role granting permissions required for managing partition tables",
        &[
            "view_ptables",
            "create_ptables",
            "edit_ptables",
            "destroy_ptables",
        ],
    ),
    (
        "View hosts",
        "Role granting permission only to view hosts",
        &["view_hosts"],
    ),
    (
        "Edit hosts",
        "Role granting permissions to update hosts. For features provided by plugins, you might need to combine this role with roles provided by those plugins",
        &[
            "view_hosts",
            "edit_hosts",
            "create_hosts",
            "destroy_hosts",
            "build_hosts",
        ],
    ),
    (
        "Viewer",
        "Role granting read only access. Users with this role can see all data but can not do any modifications",
        &["view_*"],
    ),
    (
        "Site manager",
        "Role granting mostly view permissions but also permissions required for managing hosts in the infrastructure. Users with this role can update puppet parameters, create and edit hosts, manage installation media, subnets, usergroups and edit existing users.",
        &[
            "view_architectures",
            "view_audit_logs",
            "access_dashboard",
            "view_domains",
            "view_hostgroups",
            "view_hosts",
            "create_hosts",
            "edit_hosts",
            "destroy_hosts",
            "build_hosts",
            "view_media",
            "create_media",
            "edit_media",
            "destroy_media",
            "view_models",
            "view_operatingsystems",
            "view_ptables",
            "view_usergroups",
            "create_usergroups",
            "edit_usergroups",
            "destroy_usergroups",
            "view_users",
            "edit_users",
            "view_params",
        ],
    ),
    (
        "Auditor",
        "Role granting permission to view only the Audit log and nothing else.",
        &["view_audit_logs"],
    ),
];

/// How long before the lab started the seeded records were made (lab seconds).
const SEEDED_AGO: f64 = 400.0 * 86_400.0;

impl ForemanDb {
    /// The records of a fresh lab: one host per machine owned by the administrator, the
    /// administrator, Foreman's seeded roles and permissions, and a small provisioning catalog.
    #[must_use]
    pub fn seed(machines: &[Machine], config: &LabConfig) -> Self {
        let mut db = Self {
            seed: config.seed,
            ..Self::default()
        };
        let seeded = -SEEDED_AGO;
        db.permissions = PERMISSIONS
            .iter()
            .enumerate()
            .map(|(i, (resource_type, name))| Permission {
                id: i as Id + 1,
                name,
                resource_type: *resource_type,
            })
            .collect();
        for (name, description, permissions) in ROLES {
            let id = db.next("role");
            db.roles.push(Role {
                id,
                name: (*name).to_owned(),
                description: Some((*description).to_owned()),
                builtin: if *name == "Default role" {
                    BUILTIN_DEFAULT_ROLE
                } else {
                    0
                },
                origin: Some("foreman".to_owned()),
                cloned_from_id: None,
                created_at: seeded,
                updated_at: seeded,
            });
            let chosen: Vec<Permission> = db
                .permissions
                .iter()
                .filter(|p| {
                    permissions.iter().any(|wanted| match *wanted {
                        "*" => true,
                        "view_*" => p.name.starts_with("view_"),
                        name => p.name == name,
                    })
                })
                .copied()
                .collect();
            // One unlimited filter per resource type, as Foreman seeds them.
            let mut types: Vec<Option<&str>> = chosen.iter().map(|p| p.resource_type).collect();
            types.dedup();
            for resource_type in types {
                let filter_id = db.next("filter");
                db.filters.push(Filter {
                    id: filter_id,
                    role_id: id,
                    search: None,
                    permission_ids: chosen
                        .iter()
                        .filter(|p| p.resource_type == resource_type)
                        .map(|p| p.id)
                        .collect(),
                    override_: false,
                    created_at: seeded,
                    updated_at: seeded,
                });
            }
        }
        let default_role = db.default_role_id();
        db.users.push(User {
            id: ADMIN_ID,
            login: config.foreman_admin.username.clone(),
            firstname: "Admin".to_owned(),
            lastname: "User".to_owned(),
            mail: "root@lab.example".to_owned(),
            description: String::new(),
            admin: true,
            disabled: false,
            auth_source_id: INTERNAL_AUTH_SOURCE,
            password: Some(config.foreman_admin.password.clone()),
            role_ids: default_role.into_iter().collect(),
            locale: None,
            timezone: None,
            mail_enabled: true,
            last_login_on: None,
            created_at: seeded,
            updated_at: seeded,
        });
        db.next_id.insert("user", ADMIN_ID);
        db.seed_catalog();
        db.hostgroups = vec![
            Hostgroup {
                id: 1,
                name: "lab".to_owned(),
                parent_id: None,
                description: Some("Every host of the lab".to_owned()),
                operatingsystem_id: Some(1),
                architecture_id: Some(1),
                ptable_id: Some(1),
                medium_id: Some(5),
            },
            Hostgroup {
                id: 2,
                name: "openshift".to_owned(),
                parent_id: Some(1),
                description: None,
                operatingsystem_id: Some(1),
                architecture_id: Some(1),
                ptable_id: Some(1),
                medium_id: Some(5),
            },
        ];
        db.domains = vec![Domain {
            id: 1,
            name: "lab.example".to_owned(),
        }];
        let mut models: Vec<&str> = machines.iter().map(|m| m.model.as_str()).collect();
        models.sort_unstable();
        models.dedup();
        db.models = models
            .iter()
            .enumerate()
            .map(|(i, name)| HardwareModel {
                id: i as Id + 1,
                name: (*name).to_owned(),
            })
            .collect();
        for machine in machines {
            let index = machine.index;
            let mac = machine
                .devices
                .iter()
                .find(|d| d.id == machine.provisioning_nic)
                .and_then(|d| d.mac.clone())
                .unwrap_or_default();
            let model_id = db
                .models
                .iter()
                .find(|m| m.name == machine.model)
                .map(|m| m.id);
            let created = seeded + index as f64 * 60.0;
            db.host_by_name.insert(machine.name.clone(), db.hosts.len());
            db.hosts.push(Host {
                id: index as Id + 1,
                index,
                name: machine.name.clone(),
                ip: host_ip(index),
                mac,
                domain_id: 1,
                model_id,
                owner: Some(Owner::User(ADMIN_ID)),
                operatingsystem_id: Some(1),
                ptable_id: Some(1),
                medium_id: Some(5),
                architecture_id: Some(1),
                hostgroup_id: Some(1),
                comment: String::new(),
                enabled: true,
                managed: true,
                initiated_at: None,
                created_at: created,
                updated_at: created,
                parameters: Vec::new(),
            });
        }
        db
    }

    fn seed_catalog(&mut self) {
        let arch = |id, name: &str| Architecture {
            id,
            name: name.to_owned(),
        };
        self.architectures = vec![arch(1, "x86_64"), arch(2, "aarch64")];
        let ptable = |id, name: &str, family: &str| Ptable {
            id,
            name: name.to_owned(),
            description: None,
            os_family: family.to_owned(),
        };
        self.ptables = vec![
            ptable(1, "Kickstart default", "Redhat"),
            ptable(2, "Kickstart default thin", "Redhat"),
            ptable(3, "Kickstart default custom", "Redhat"),
            ptable(4, "Preseed default", "Debian"),
        ];
        let medium = |id, name: &str, path: &str| Medium {
            id,
            name: name.to_owned(),
            path: path.to_owned(),
            os_family: "Redhat".to_owned(),
        };
        // "CentOS Stream" and "CentOS Stream 9 mirror" are both Foreman seeds: a lookup by
        // substring would confuse them, a lookup by exact name does not.
        self.media = vec![
            medium(
                1,
                "CentOS Stream",
                "http://mirror.centos.org/centos/$major-stream/BaseOS/$arch/os",
            ),
            medium(
                2,
                "CentOS Stream 9 mirror",
                "http://mirror.stream.centos.org/$major-stream/BaseOS/$arch/os",
            ),
            medium(
                3,
                "Fedora mirror",
                "http://dl.fedoraproject.org/pub/fedora/linux/releases/$major/Server/$arch/os/",
            ),
            medium(
                4,
                "RHEL 8 mirror",
                "http://mirror.lab.example/rhel/$major.$minor/BaseOS/$arch/os",
            ),
            medium(
                5,
                "RHEL 9 mirror",
                "http://mirror.lab.example/rhel9/$major.$minor/BaseOS/$arch/os",
            ),
        ];
        let os = |id, name: &str, major: &str, minor: &str, description: &str, media: &[Id]| {
            Operatingsystem {
                id,
                name: name.to_owned(),
                major: major.to_owned(),
                minor: minor.to_owned(),
                description: description.to_owned(),
                family: "Redhat".to_owned(),
                ptable_ids: vec![1, 2, 3],
                medium_ids: media.to_vec(),
                architecture_ids: vec![1, 2],
            }
        };
        self.operatingsystems = vec![
            os(1, "RedHat", "9", "4", "", &[5]),
            os(2, "RedHat", "8", "10", "", &[4]),
            os(3, "CentOS_Stream", "9", "", "", &[1, 2]),
            os(4, "Fedora", "40", "", "", &[3]),
            os(5, "RedHat", "9", "6", "RHEL 9.6", &[5]),
        ];
    }

    /// The Foreman id of host `index`.
    #[must_use]
    pub fn host_id_of(&self, index: usize) -> u64 {
        self.hosts.get(index).map(|h| h.id).unwrap_or_default()
    }

    /// A new id for a kind of record.
    pub fn next(&mut self, kind: &'static str) -> Id {
        let next = self.next_id.entry(kind).or_default();
        *next += 1;
        *next
    }

    /// A new session cookie value for a user (deterministic from the lab seed).
    pub fn open_session(&mut self, user_id: Id, now: f64) -> String {
        self.session_counter += 1;
        let n = self.session_counter;
        let id = format!(
            "{:016x}{:016x}",
            mix(self.seed ^ mix(n ^ 0x5e55_1011)),
            mix(self.seed ^ mix(n.wrapping_mul(31) ^ 0x00c0_0c1e))
        );
        if self.sessions.len() >= MAX_SESSIONS {
            self.sessions
                .retain(|_, s| now - s.last_seen <= SESSION_IDLE_TIMEOUT);
        }
        if self.sessions.len() >= MAX_SESSIONS {
            let mut seen: Vec<f64> = self.sessions.values().map(|s| s.last_seen).collect();
            seen.sort_by(f64::total_cmp);
            let cutoff = seen[seen.len() / 2];
            self.sessions.retain(|_, s| s.last_seen > cutoff);
        }
        self.sessions.insert(
            id.clone(),
            Session {
                user_id,
                last_seen: now,
            },
        );
        id
    }

    /// Counts a failed login (the counter lives 5 minutes after the last failure).
    pub fn count_login_failure(&mut self, now: f64) {
        let (count, expires) = self.login_failures;
        let count = if now > expires { 0 } else { count };
        self.login_failures = (count + 1, now + FAILED_LOGIN_WINDOW);
    }

    /// Whether logins are refused as a brute-force attempt.
    #[must_use]
    pub fn bruteforce_attempt(&self, now: f64) -> bool {
        let (count, expires) = self.login_failures;
        now <= expires && count >= FAILED_LOGIN_LIMIT
    }

    /// A new personal access token value (deterministic from the lab seed), as Foreman makes
    /// them: 22 URL-safe base64 characters.
    pub fn new_token_value(&mut self) -> String {
        use base64::Engine as _;
        self.session_counter += 1;
        let n = self.session_counter;
        let mut bytes = mix(self.seed ^ mix(n ^ 0x7043_e11a)).to_le_bytes().to_vec();
        bytes.extend_from_slice(&mix(self.seed ^ mix(n.wrapping_mul(7) ^ 0x0a11)).to_le_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The id of "Default role".
    #[must_use]
    pub fn default_role_id(&self) -> Option<Id> {
        self.roles
            .iter()
            .find(|r| r.builtin == BUILTIN_DEFAULT_ROLE)
            .map(|r| r.id)
    }

    /// A host by index into [`ForemanDb::hosts`], found by FQDN or id.
    #[must_use]
    pub fn find_host(&self, key: &str) -> Option<usize> {
        if let Some(&i) = self.host_by_name.get(key) {
            return Some(i);
        }
        let id = numeric_id(key)?;
        self.hosts.iter().position(|h| h.id == id)
    }

    /// A user by login (case-insensitive).
    #[must_use]
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    /// A user by id.
    #[must_use]
    pub fn user(&self, id: Id) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// A role by id.
    #[must_use]
    pub fn role(&self, id: Id) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// A user group by id.
    #[must_use]
    pub fn usergroup(&self, id: Id) -> Option<&Usergroup> {
        self.usergroups.iter().find(|g| g.id == id)
    }

    /// A permission by id.
    #[must_use]
    pub fn permission(&self, id: Id) -> Option<&Permission> {
        self.permissions.iter().find(|p| p.id == id)
    }

    /// An operating system by id.
    #[must_use]
    pub fn operatingsystem(&self, id: Id) -> Option<&Operatingsystem> {
        self.operatingsystems.iter().find(|o| o.id == id)
    }

    /// A partition table by id.
    #[must_use]
    pub fn ptable(&self, id: Id) -> Option<&Ptable> {
        self.ptables.iter().find(|p| p.id == id)
    }

    /// A medium by id.
    #[must_use]
    pub fn medium(&self, id: Id) -> Option<&Medium> {
        self.media.iter().find(|m| m.id == id)
    }

    /// An architecture by id.
    #[must_use]
    pub fn architecture(&self, id: Id) -> Option<&Architecture> {
        self.architectures.iter().find(|a| a.id == id)
    }

    /// A host group by id.
    #[must_use]
    pub fn hostgroup(&self, id: Id) -> Option<&Hostgroup> {
        self.hostgroups.iter().find(|h| h.id == id)
    }

    /// A host group's title: its ancestors' names and its own, joined by `/`.
    #[must_use]
    pub fn hostgroup_title(&self, id: Id) -> String {
        let mut names = Vec::new();
        let mut next = Some(id);
        while let Some(id) = next {
            let Some(group) = self.hostgroup(id) else {
                break;
            };
            names.push(group.name.as_str());
            next = group.parent_id.filter(|_| names.len() < 32);
        }
        names.reverse();
        names.join("/")
    }

    /// Every group a user belongs to, directly or through member groups (Foreman's cached
    /// user groups).
    #[must_use]
    pub fn usergroups_of(&self, user_id: Id) -> BTreeSet<Id> {
        let mut groups: BTreeSet<Id> = self
            .usergroups
            .iter()
            .filter(|g| g.user_ids.contains(&user_id))
            .map(|g| g.id)
            .collect();
        loop {
            let parents: Vec<Id> = self
                .usergroups
                .iter()
                .filter(|g| !groups.contains(&g.id))
                .filter(|g| g.usergroup_ids.iter().any(|child| groups.contains(child)))
                .map(|g| g.id)
                .collect();
            if parents.is_empty() {
                return groups;
            }
            groups.extend(parents);
        }
    }

    /// Whether a user is an administrator, directly or through an admin user group.
    #[must_use]
    pub fn effective_admin(&self, user_id: Id) -> bool {
        self.user(user_id).is_some_and(|u| u.admin)
            || self
                .usergroups_of(user_id)
                .iter()
                .any(|g| self.usergroup(*g).is_some_and(|g| g.admin))
    }

    /// Every role of a user: its own and its groups'.
    #[must_use]
    pub fn roles_of(&self, user_id: Id) -> BTreeSet<Id> {
        let mut roles = self
            .user(user_id)
            .map(|u| u.role_ids.clone())
            .unwrap_or_default();
        for group in self.usergroups_of(user_id) {
            if let Some(group) = self.usergroup(group) {
                roles.extend(group.role_ids.iter().copied());
            }
        }
        roles
    }

    /// A host owner's display name.
    #[must_use]
    pub fn owner_name(&self, owner: Option<Owner>) -> Option<String> {
        match owner? {
            Owner::User(id) => self.user(id).map(User::display_name),
            Owner::Usergroup(id) => self.usergroup(id).map(|g| g.name.clone()),
        }
    }
}

/// An id given in a path: digits, or Foreman's parameterized `id-name`.
#[must_use]
pub fn numeric_id(key: &str) -> Option<Id> {
    let digits = key.split_once('-').map_or(key, |(d, _)| d);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A host's address: TEST-NET-1, -2, -3 (RFC 5737), then the benchmarking range 198.18.0.0/15.
fn host_ip(index: usize) -> String {
    let nets = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
    if let Some(net) = nets.get(index / 254) {
        return format!("{}.{}.{}.{}", net[0], net[1], net[2], index % 254 + 1);
    }
    let n = index - nets.len() * 254;
    let (block, host) = (n / 254, n % 254 + 1);
    format!("198.{}.{}.{host}", 18 + block / 256, block % 256)
}

/// The lab's epoch: lab second 0 is 2025-01-06 08:00:00 UTC.
const EPOCH_UNIX: i64 = 1_736_150_400;

/// A lab time as Foreman prints times in JSON: `2025-01-06 08:00:00 UTC`.
#[must_use]
pub fn timestamp(lab_secs: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let unix = EPOCH_UNIX + lab_secs.floor() as i64;
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses a time as an API client sends it (`2025-01-07 10:00:00 UTC`, `2025-01-07T10:00:00Z`,
/// `2025-01-07`) into lab seconds.
#[must_use]
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let text = text.trim();
    let text = text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix('Z'))
        .unwrap_or(text);
    let (date, time) = text
        .split_once(['T', ' '])
        .map_or((text, "00:00:00"), |(d, t)| (d, t));
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.split(':').map(|p| p.parse::<f64>().ok());
    let (hours, minutes) = (t.next()??, t.next()??);
    let seconds = t.next().flatten().unwrap_or(0.0);
    let days = days_from_civil(year, month, day);
    #[allow(clippy::cast_precision_loss)]
    let unix = (days * 86_400 - EPOCH_UNIX) as f64;
    Some(unix + hours * 3600.0 + minutes * 60.0 + seconds)
}

/// A civil date to days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Adds plain hosts for unit tests (`f01-hNN-000-r640.lab.example`, owned by the admin).
#[cfg(test)]
pub(crate) fn add_test_hosts(db: &mut ForemanDb, n: usize) {
    for index in 0..n {
        let name = format!("f01-h{:02}-000-r640.lab.example", index + 1);
        db.host_by_name.insert(name.clone(), db.hosts.len());
        db.hosts.push(Host {
            id: index as Id + 1,
            index,
            name,
            ip: host_ip(index),
            mac: format!("52:54:00:00:00:{index:02x}"),
            domain_id: 1,
            model_id: None,
            owner: Some(Owner::User(ADMIN_ID)),
            operatingsystem_id: Some(1),
            ptable_id: Some(1),
            medium_id: Some(5),
            architecture_id: Some(1),
            hostgroup_id: Some(1),
            comment: String::new(),
            enabled: true,
            managed: true,
            initiated_at: None,
            created_at: 0.0,
            updated_at: 0.0,
            parameters: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_addresses() {
        assert_eq!(timestamp(0.0), "2025-01-06 08:00:00 UTC");
        assert_eq!(timestamp(86_400.0 * 31.0 + 61.5), "2025-02-06 08:01:01 UTC");
        assert_eq!(timestamp(-SEEDED_AGO), "2023-12-03 08:00:00 UTC");
        assert_eq!(parse_timestamp("2025-01-06 08:00:00 UTC"), Some(0.0));
        assert_eq!(
            parse_timestamp("2025-02-06T08:01:01Z"),
            Some(86_400.0 * 31.0 + 61.0)
        );
        assert_eq!(parse_timestamp("2025-01-07"), Some(16.0 * 3600.0));
        assert_eq!(parse_timestamp("tomorrow"), None);
        assert_eq!(parse_timestamp("2025-13-01"), None);
        assert_eq!(host_ip(0), "192.0.2.1");
        assert_eq!(host_ip(254), "198.51.100.1");
        assert_eq!(host_ip(762), "198.18.0.1");
        assert_eq!(host_ip(762 + 254 * 300), "198.19.44.1");
        assert_eq!(numeric_id("12"), Some(12));
        assert_eq!(numeric_id("12-cloud02"), Some(12));
        assert_eq!(numeric_id("cloud02"), None);
        assert_eq!(numeric_id(""), None);
    }

    #[test]
    fn seeded_roles_and_catalog() {
        let db = ForemanDb::seed(&[], &LabConfig::default());
        let default = db.default_role_id().expect("default role");
        assert_eq!(db.user(ADMIN_ID).expect("admin").role_ids, [default].into());
        let viewer = db
            .roles
            .iter()
            .find(|r| r.name == "Viewer")
            .expect("viewer");
        assert!(viewer.locked());
        assert!(!db.role(default).expect("default").locked());
        let os = db.operatingsystem(5).expect("os");
        assert_eq!(os.title(), "RHEL 9.6");
        assert_eq!(db.operatingsystem(1).expect("os").title(), "RedHat 9.4");
        assert_eq!(
            db.operatingsystem(3).expect("os").title(),
            "CentOS_Stream 9"
        );
        // Every seeded filter is unlimited and of one resource type.
        for filter in &db.filters {
            assert!(filter.search.is_none());
            let types: BTreeSet<_> = filter
                .permission_ids
                .iter()
                .map(|p| db.permission(*p).expect("permission").resource_type)
                .collect();
            assert_eq!(types.len(), 1);
        }
    }
}
