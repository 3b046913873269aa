//! Foreman's role-based access control: which records a user may see or change.
//!
//! An administrator (directly or through an admin user group) may do everything. Anyone else gets
//! a permission through the filters of their roles (their own and their groups'): a filter
//! without a search allows every record of its resource, a filter with a search only the records
//! the search matches (evaluated as the user, so `owner = current_user` works). A user with no
//! filter granting the permission is refused (403); a record outside every filter is hidden
//! (404), as if it did not exist.

use super::db::{ForemanDb, Id};
use super::search::{Ctx, Node, Searchable, matches, parse};

/// The records a user may act on with one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
    /// The records matching one of these searches.
    Limited(Vec<Node>),
    /// No permission at all.
    Denied,
}

impl Scope {
    /// Whether the user holds the permission at all.
    #[must_use]
    pub fn permitted(&self) -> bool {
        !matches!(self, Self::Denied)
    }

    /// Whether the user may act on `record`.
    pub fn allows<R: Searchable>(&self, record: &R, ctx: &Ctx<'_>) -> bool {
        match self {
            Self::All => true,
            Self::Limited(searches) => searches.iter().any(|s| matches(s, record, ctx)),
            Self::Denied => false,
        }
    }
}

/// The scope of `permission` for `user_id`.
#[must_use]
pub fn scope(db: &ForemanDb, user_id: Id, permission: &str) -> Scope {
    if db.effective_admin(user_id) {
        return Scope::All;
    }
    let Some(permission_id) = db
        .permissions
        .iter()
        .find(|p| p.name == permission)
        .map(|p| p.id)
    else {
        return Scope::Denied;
    };
    let roles = db.roles_of(user_id);
    let mut searches = Vec::new();
    let mut granted = false;
    for filter in db
        .filters
        .iter()
        .filter(|f| roles.contains(&f.role_id) && f.permission_ids.contains(&permission_id))
    {
        granted = true;
        match filter.search.as_deref().map(parse) {
            None | Some(Ok(None)) => return Scope::All,
            Some(Ok(Some(node))) => searches.push(node),
            // A search that no longer parses matches nothing.
            Some(Err(_)) => {}
        }
    }
    if granted {
        Scope::Limited(searches)
    } else {
        Scope::Denied
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::foreman::db::{ADMIN_ID, Filter, Owner, User, Usergroup};
    use crate::lab::LabConfig;

    fn user(id: Id, login: &str, roles: &[Id]) -> User {
        User {
            id,
            login: login.into(),
            firstname: String::new(),
            lastname: String::new(),
            mail: String::new(),
            description: String::new(),
            admin: false,
            disabled: false,
            auth_source_id: 1,
            password: Some("pw".into()),
            role_ids: roles.iter().copied().collect(),
            locale: None,
            timezone: None,
            mail_enabled: true,
            last_login_on: None,
            created_at: 0.0,
            updated_at: 0.0,
        }
    }

    fn permission(db: &ForemanDb, name: &str) -> Id {
        db.permissions
            .iter()
            .find(|p| p.name == name)
            .expect("permission")
            .id
    }

    /// A lab of four hosts: 0 and 1 owned by the tenant, 2 by a group the tenant is in, 3 by admin.
    fn lab() -> ForemanDb {
        let mut db = ForemanDb::seed(&[], &LabConfig::default());
        crate::foreman::db::add_test_hosts(&mut db, 4);
        let role = db.next("role");
        db.roles.push(crate::foreman::db::Role {
            id: role,
            name: "cloud02".into(),
            description: None,
            builtin: 0,
            origin: None,
            cloned_from_id: None,
            created_at: 0.0,
            updated_at: 0.0,
        });
        let view = permission(&db, "view_hosts");
        let edit = permission(&db, "edit_hosts");
        db.filters.push(Filter {
            id: 900,
            role_id: role,
            search: Some("owner = current_user".into()),
            permission_ids: vec![view, edit],
            override_: false,
            created_at: 0.0,
            updated_at: 0.0,
        });
        db.users.push(user(10, "cloud02", &[role]));
        db.users.push(user(11, "nobody", &[]));
        db.usergroups.push(Usergroup {
            id: 1,
            name: "tenants".into(),
            admin: false,
            user_ids: BTreeSet::from([10]),
            usergroup_ids: BTreeSet::new(),
            role_ids: BTreeSet::new(),
            created_at: 0.0,
            updated_at: 0.0,
        });
        db.hosts[0].owner = Some(Owner::User(10));
        db.hosts[1].owner = Some(Owner::User(10));
        db.hosts[2].owner = Some(Owner::Usergroup(1));
        db
    }

    fn visible(db: &ForemanDb, user: Id, p: &str) -> Vec<Id> {
        let ctx = Ctx {
            db,
            machines: &[],
            current_user: user,
        };
        let scope = scope(db, user, p);
        db.hosts
            .iter()
            .filter(|h| scope.allows(*h, &ctx))
            .map(|h| h.id)
            .collect()
    }

    #[test]
    fn a_tenant_sees_its_own_hosts_only() {
        let db = lab();
        assert_eq!(visible(&db, ADMIN_ID, "view_hosts"), [1, 2, 3, 4]);
        assert_eq!(visible(&db, 10, "view_hosts"), [1, 2, 3]);
        assert_eq!(visible(&db, 10, "edit_hosts"), [1, 2, 3]);
        assert_eq!(scope(&db, 10, "destroy_hosts"), Scope::Denied);
        assert_eq!(scope(&db, 11, "view_hosts"), Scope::Denied);
        assert!(visible(&db, 11, "view_hosts").is_empty());
    }

    #[test]
    fn owner_id_filters_and_unlimited_filters() {
        let mut db = lab();
        let view = permission(&db, "view_hosts");
        db.filters.retain(|f| f.id != 900);
        db.filters.push(Filter {
            id: 901,
            role_id: db.roles.last().expect("role").id,
            search: Some("owner_id = 10 and owner_type = User".into()),
            permission_ids: vec![view],
            override_: false,
            created_at: 0.0,
            updated_at: 0.0,
        });
        assert_eq!(visible(&db, 10, "view_hosts"), [1, 2]);
        // A second role with an unlimited view filter widens it to everything.
        let viewer = db
            .roles
            .iter()
            .find(|r| r.name == "View hosts")
            .expect("role")
            .id;
        db.users
            .iter_mut()
            .find(|u| u.id == 10)
            .expect("user")
            .role_ids
            .insert(viewer);
        assert_eq!(visible(&db, 10, "view_hosts"), [1, 2, 3, 4]);
        // Through a group, too; an admin group makes its members admins.
        db.usergroups[0].admin = true;
        assert_eq!(scope(&db, 10, "destroy_hosts"), Scope::All);
    }
}
