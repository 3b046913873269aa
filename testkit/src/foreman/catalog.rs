//! The provisioning catalog (operating systems, partition tables, media, architectures, host
//! groups) and permissions: index and show only. Operating systems are found by id or title,
//! host groups by id or title, the others by id or name; permissions by id.

use http::StatusCode;
use serde_json::Value;

use super::api::Handler;
use super::db::{Operatingsystem, numeric_id};
use super::errors::ApiError;
use super::routes::{Collection, Nest};
use super::views;

impl Handler<'_, '_, '_> {
    pub(super) fn index(
        &mut self,
        collection: Collection,
        nest: Option<&Nest>,
    ) -> Result<(StatusCode, Value), ApiError> {
        let db = &*self.db;
        let (body, rows) = match collection {
            Collection::Users
            | Collection::Roles
            | Collection::Filters
            | Collection::Usergroups => return self.account_index(collection, nest),
            Collection::Permissions => {
                self.require("edit_filters")?;
                let (page, rows) =
                    self.paginate(db.permissions.iter().collect(), |a, b| a.id.cmp(&b.id))?;
                let results: Vec<Value> = rows.iter().map(|p| views::permission(p)).collect();
                let count = results.len();
                (page.wrap(&results), count)
            }
            Collection::Operatingsystems => self.list(
                db.operatingsystems.iter().collect(),
                "view_operatingsystems",
                |a, b| a.title().cmp(&b.title()),
                views::os_main,
            )?,
            Collection::Ptables => self.list(
                db.ptables.iter().collect(),
                "view_ptables",
                |a, b| a.name.cmp(&b.name),
                |p| views::ptable(db, p, false),
            )?,
            Collection::Media => self.list(
                db.media.iter().collect(),
                "view_media",
                |a, b| a.name.cmp(&b.name),
                |m| views::medium(db, m, false),
            )?,
            Collection::Architectures => self.list(
                db.architectures.iter().collect(),
                "view_architectures",
                |a, b| a.name.cmp(&b.name),
                |a| views::architecture(db, a, false),
            )?,
            Collection::Hostgroups => self.list(
                db.hostgroups.iter().collect(),
                "view_hostgroups",
                |a, b| db.hostgroup_title(a.id).cmp(&db.hostgroup_title(b.id)),
                |g| views::hostgroup(db, g, false),
            )?,
        };
        self.index_time(rows, false);
        Ok((StatusCode::OK, body))
    }

    pub(super) fn show(
        &mut self,
        collection: Collection,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.show;
        let db = &*self.db;
        let body = match collection {
            Collection::Users
            | Collection::Roles
            | Collection::Filters
            | Collection::Usergroups => return self.account_show(collection, key),
            Collection::Permissions => {
                self.require("edit_filters")?;
                let permission = numeric_id(key)
                    .and_then(|id| db.permission(id))
                    .ok_or_else(|| ApiError::not_found("permission", key))?;
                views::permission(permission)
            }
            Collection::Operatingsystems => {
                let os = self.pick(
                    &db.operatingsystems,
                    key,
                    "view_operatingsystems",
                    "operatingsystem",
                    |o| o.id,
                    Operatingsystem::title,
                )?;
                views::os_show(db, os)
            }
            Collection::Ptables => {
                let p = self.pick(
                    &db.ptables,
                    key,
                    "view_ptables",
                    "ptable",
                    |p| p.id,
                    |p| p.name.clone(),
                )?;
                views::ptable(db, p, true)
            }
            Collection::Media => {
                let m = self.pick(
                    &db.media,
                    key,
                    "view_media",
                    "medium",
                    |m| m.id,
                    |m| m.name.clone(),
                )?;
                views::medium(db, m, true)
            }
            Collection::Architectures => {
                let a = self.pick(
                    &db.architectures,
                    key,
                    "view_architectures",
                    "architecture",
                    |a| a.id,
                    |a| a.name.clone(),
                )?;
                views::architecture(db, a, true)
            }
            Collection::Hostgroups => {
                let g = self.pick(
                    &db.hostgroups,
                    key,
                    "view_hostgroups",
                    "hostgroup",
                    |g| g.id,
                    |g| db.hostgroup_title(g.id),
                )?;
                views::hostgroup(db, g, true)
            }
        };
        Ok((StatusCode::OK, body))
    }

    pub(super) fn create(
        &mut self,
        collection: Collection,
        nest: Option<&Nest>,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.account_create(collection, nest)
    }

    pub(super) fn update(
        &mut self,
        collection: Collection,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.account_update(collection, key)
    }

    pub(super) fn destroy(
        &mut self,
        collection: Collection,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.account_destroy(collection, key)
    }
}
