//! The provisioning catalog: operating systems, partition tables, installation media,
//! architectures, host groups and permissions. Each can be listed and shown, and looked up by
//! exact name or title: an unknown or ambiguous name is an error (never "the first one"), found
//! objects are cached for [`crate::LookupPolicy::ttl`], and concurrent identical lookups share
//! one request.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cache::SingleFlight;
use crate::client::{Call, ForemanClient};
use crate::de;
use crate::error::{DecodeError, Error, LookupProblem, decode_json};
use crate::pagination::{ListCall, ListRequest, PerPage};
use crate::request::{ApiRequest, Endpoint, Identifier, Search, api_path};

/// An object of the catalog that can be looked up by name.
pub trait CatalogObject: DeserializeOwned + Clone + Send + Sync + 'static {
    /// What it is called in messages (`operating system`).
    const KIND: &'static str;
    /// Its collection below `/api` (`operatingsystems`).
    const COLLECTION: &'static str;

    /// The scoped search that finds the candidates for `name`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `name` cannot be searched for.
    fn search(name: &str) -> Result<Search, Error>;

    /// Whether this object is the one called `name` (exactly).
    fn is_named(&self, name: &str) -> bool;

    /// Foreman id.
    fn id(&self) -> u64;

    /// How it is shown in messages (its title or name).
    fn label(&self) -> String;
}

/// The one object among `candidates` called `name`.
///
/// # Errors
/// [`Error::Lookup`] when none or several are.
pub fn pick_one<T: CatalogObject>(name: &str, candidates: Vec<T>) -> Result<T, Error> {
    let mut matching: Vec<T> = candidates
        .into_iter()
        .filter(|c| c.is_named(name))
        .collect();
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(Error::Lookup {
            kind: T::KIND,
            name: name.to_owned(),
            problem: LookupProblem::Unknown,
        }),
        _ => Err(Error::Lookup {
            kind: T::KIND,
            name: name.to_owned(),
            problem: LookupProblem::Ambiguous {
                candidates: matching.iter().map(|c| (c.id(), c.label())).collect(),
            },
        }),
    }
}

/// The objects of `request` (a search asking for every result) that `is_named` accepts:
/// none, one, or an ambiguity error naming the candidates. For objects that are not cached
/// (users, roles, user groups), whose absence is an answer rather than an error.
pub(crate) async fn find_unique<T, N, L>(
    client: &ForemanClient,
    request: &ListRequest<T>,
    kind: &'static str,
    name: &str,
    is_named: N,
    label: L,
) -> Result<Option<T>, Error>
where
    T: DeserializeOwned,
    N: Fn(&T) -> bool,
    L: Fn(&T) -> (u64, String),
{
    let page = client.execute(request).await?;
    let mut matching: Vec<T> = page.results.into_iter().filter(|c| is_named(c)).collect();
    match matching.len() {
        0 => Ok(None),
        1 => Ok(matching.pop()),
        _ => Err(Error::Lookup {
            kind,
            name: name.to_owned(),
            problem: LookupProblem::Ambiguous {
                candidates: matching.iter().map(label).collect(),
            },
        }),
    }
}

/// An operating system.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct OperatingSystem {
    /// Foreman id.
    pub id: u64,
    /// Family name (`RedHat`, `CentOS`, `Debian`).
    pub name: String,
    /// The unique title: the description if set, else `name major.minor`.
    #[serde(default)]
    pub title: Option<String>,
    /// Major version (a string in Foreman's JSON).
    #[serde(default, deserialize_with = "de::lenient_string")]
    pub major: Option<String>,
    /// Minor version.
    #[serde(default, deserialize_with = "de::lenient_string")]
    pub minor: Option<String>,
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// OS family (`Redhat`, `Debian`, ...).
    #[serde(default)]
    pub family: Option<String>,
    /// Release code name.
    #[serde(default)]
    pub release_name: Option<String>,
}

impl OperatingSystem {
    /// `name major.minor`, as Foreman builds a title without description.
    #[must_use]
    pub fn fullname(&self) -> String {
        match (self.major.as_deref(), self.minor.as_deref()) {
            (Some(major), Some(minor)) if !minor.is_empty() => {
                format!("{} {major}.{minor}", self.name)
            }
            (Some(major), _) => format!("{} {major}", self.name),
            _ => self.name.clone(),
        }
    }
}

impl CatalogObject for OperatingSystem {
    const KIND: &'static str = "operating system";
    const COLLECTION: &'static str = "operatingsystems";

    fn search(name: &str) -> Result<Search, Error> {
        Search::eq("title", name)
    }

    fn is_named(&self, name: &str) -> bool {
        match self.title.as_deref() {
            Some(title) => title == name,
            None => self.description.as_deref() == Some(name) || self.fullname() == name,
        }
    }

    fn id(&self) -> u64 {
        self.id
    }

    fn label(&self) -> String {
        self.title.clone().unwrap_or_else(|| self.fullname())
    }
}

/// A partition table (a template).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PartitionTable {
    /// Foreman id.
    pub id: u64,
    /// The unique name.
    pub name: String,
    /// OS family it is for.
    #[serde(default)]
    pub os_family: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// An installation medium.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Medium {
    /// Foreman id.
    pub id: u64,
    /// The unique name.
    pub name: String,
    /// The mirror URL template.
    #[serde(default)]
    pub path: Option<String>,
    /// OS family it is for.
    #[serde(default)]
    pub os_family: Option<String>,
}

/// An architecture.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Architecture {
    /// Foreman id.
    pub id: u64,
    /// The unique name (`x86_64`).
    pub name: String,
}

/// A permission, as used in role filters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Permission {
    /// Foreman id.
    pub id: u64,
    /// The unique name (`view_hosts`).
    pub name: String,
    /// The resource it applies to (`Host`).
    #[serde(default)]
    pub resource_type: Option<String>,
}

macro_rules! named_by_name {
    ($type:ty, $kind:literal, $collection:literal) => {
        impl CatalogObject for $type {
            const KIND: &'static str = $kind;
            const COLLECTION: &'static str = $collection;

            fn search(name: &str) -> Result<Search, Error> {
                Search::eq("name", name)
            }

            fn is_named(&self, name: &str) -> bool {
                self.name == name
            }

            fn id(&self) -> u64 {
                self.id
            }

            fn label(&self) -> String {
                self.name.clone()
            }
        }
    };
}

named_by_name!(PartitionTable, "partition table", "ptables");
named_by_name!(Medium, "installation medium", "media");
named_by_name!(Architecture, "architecture", "architectures");
named_by_name!(Permission, "permission", "permissions");

/// A host group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Hostgroup {
    /// Foreman id.
    pub id: u64,
    /// Its own name (the last title component).
    pub name: String,
    /// The unique title (`parent/child`).
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Operating system id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub operatingsystem_id: Option<u64>,
    /// Partition table id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub ptable_id: Option<u64>,
    /// Medium id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub medium_id: Option<u64>,
    /// Architecture id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub architecture_id: Option<u64>,
    /// Parent group id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub parent_id: Option<u64>,
}

impl Hostgroup {
    fn full_title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }
}

impl CatalogObject for Hostgroup {
    const KIND: &'static str = "host group";
    const COLLECTION: &'static str = "hostgroups";

    /// Searches by the group's own name (Foreman searches titles only as `label`, and not in
    /// every version); the title is matched here.
    fn search(name: &str) -> Result<Search, Error> {
        let own = name.rsplit('/').next().unwrap_or(name);
        Search::eq("name", own)
    }

    /// A title with `/` must match the full title; a bare name matches a top-level group's
    /// title or, failing that, any group's own name (several such are ambiguous).
    fn is_named(&self, name: &str) -> bool {
        self.full_title() == name || (!name.contains('/') && self.name == name)
    }

    fn id(&self) -> u64 {
        self.id
    }

    fn label(&self) -> String {
        self.full_title().to_owned()
    }
}

/// `GET /api/<collection>/:id` of a catalog object.
pub struct ShowObject<T> {
    object: Identifier,
    kind: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for ShowObject<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShowObject")
            .field("object", &self.object)
            .finish()
    }
}

impl<T> ShowObject<T> {
    /// The object by id (or by name, where Foreman accepts it).
    pub fn new(object: impl Into<Identifier>) -> Self {
        Self {
            object: object.into(),
            kind: PhantomData,
        }
    }
}

impl<T: CatalogObject> Endpoint for ShowObject<T> {
    type Output = T;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&[T::COLLECTION, &self.object.segment()]))
    }

    fn parse(&self, body: &[u8]) -> Result<T, DecodeError> {
        decode_json(body)
    }
}

/// The request a lookup of `name` sends: the exact-match search, every result in one page.
///
/// # Errors
/// [`Error::InvalidInput`] when `name` cannot be searched for.
pub fn lookup_request<T: CatalogObject>(name: &str) -> Result<ListRequest<T>, Error> {
    Ok(ListRequest::new(api_path(&[T::COLLECTION]))
        .search(T::search(name)?)
        .per_page(PerPage::All))
}

/// The lookup caches of one client.
#[derive(Debug)]
pub(crate) struct Caches {
    operating_systems: SingleFlight<OperatingSystem>,
    partition_tables: SingleFlight<PartitionTable>,
    media: SingleFlight<Medium>,
    architectures: SingleFlight<Architecture>,
    hostgroups: SingleFlight<Hostgroup>,
    permissions: SingleFlight<Permission>,
}

impl Caches {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            operating_systems: SingleFlight::new(ttl),
            partition_tables: SingleFlight::new(ttl),
            media: SingleFlight::new(ttl),
            architectures: SingleFlight::new(ttl),
            hostgroups: SingleFlight::new(ttl),
            permissions: SingleFlight::new(ttl),
        }
    }

    pub(crate) fn clear(&self) {
        self.operating_systems.clear();
        self.partition_tables.clear();
        self.media.clear();
        self.architectures.clear();
        self.hostgroups.clear();
        self.permissions.clear();
    }
}

/// Where a catalog type's lookups are cached.
pub(crate) trait Cached: CatalogObject {
    fn cache(caches: &Caches) -> &SingleFlight<Self>;
}

macro_rules! cached_in {
    ($type:ty, $field:ident) => {
        impl Cached for $type {
            fn cache(caches: &Caches) -> &SingleFlight<Self> {
                &caches.$field
            }
        }
    };
}

cached_in!(OperatingSystem, operating_systems);
cached_in!(PartitionTable, partition_tables);
cached_in!(Medium, media);
cached_in!(Architecture, architectures);
cached_in!(Hostgroup, hostgroups);
cached_in!(Permission, permissions);

/// The endpoints of one catalog collection: `client.operating_systems()`,
/// `client.partition_tables()`, `client.media()`, `client.architectures()`,
/// `client.hostgroups()`, `client.permissions()`.
pub struct Catalog<'c, T> {
    client: &'c ForemanClient,
    kind: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Catalog<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog").finish_non_exhaustive()
    }
}

impl<T> Clone for Catalog<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Catalog<'_, T> {}

#[allow(private_bounds)]
impl<'c, T: Cached> Catalog<'c, T> {
    /// Lists the collection.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let all = client.operating_systems().list().all().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCall<'c, T> {
        ListCall::new(self.client, ListRequest::new(api_path(&[T::COLLECTION])))
    }

    /// Shows one object by id.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let medium = client.media().show(9).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn show(&self, object: impl Into<Identifier>) -> Call<'c, ShowObject<T>> {
        Call::new(self.client, ShowObject::new(object))
    }

    /// The object called `name` exactly (an operating system or host group by title, the
    /// others by name), cached; concurrent lookups of one name share one request.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let os = client.operating_systems().lookup("RedHat 9.4").await?;
    /// let ptable = client.partition_tables().lookup("Kickstart default").await?;
    /// let group = client.hostgroups().lookup("base/compute").await?;
    /// println!("{} {} {}", os.id, ptable.id, group.id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Lookup`] when no object or several have that name; any [`Error`] of the
    /// request. Errors are not cached.
    pub async fn lookup(&self, name: &str) -> Result<T, Error> {
        let this = *self;
        T::cache(self.client.caches())
            .get_or_fetch(name, || async move { this.lookup_uncached(name).await })
            .await
    }

    /// The object called `name` exactly, asked of Foreman now: neither read from nor kept in
    /// the cache (one request per call).
    ///
    /// # Errors
    /// As [`Catalog::lookup`].
    pub async fn lookup_uncached(&self, name: &str) -> Result<T, Error> {
        let page = self.client.execute(&lookup_request::<T>(name)?).await?;
        pick_one(name, page.results)
    }
}

impl ForemanClient {
    fn catalog<T>(&self) -> Catalog<'_, T> {
        Catalog {
            client: self,
            kind: PhantomData,
        }
    }

    /// Operating systems (looked up by title).
    #[must_use]
    pub fn operating_systems(&self) -> Catalog<'_, OperatingSystem> {
        self.catalog()
    }

    /// Partition tables (by name).
    #[must_use]
    pub fn partition_tables(&self) -> Catalog<'_, PartitionTable> {
        self.catalog()
    }

    /// Installation media (by name).
    #[must_use]
    pub fn media(&self) -> Catalog<'_, Medium> {
        self.catalog()
    }

    /// Architectures (by name).
    #[must_use]
    pub fn architectures(&self) -> Catalog<'_, Architecture> {
        self.catalog()
    }

    /// Host groups (by title).
    #[must_use]
    pub fn hostgroups(&self) -> Catalog<'_, Hostgroup> {
        self.catalog()
    }

    /// Permissions (by name), for role filters.
    #[must_use]
    pub fn permissions(&self) -> Catalog<'_, Permission> {
        self.catalog()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn os(id: u64, name: &str, major: &str, minor: &str, title: Option<&str>) -> OperatingSystem {
        OperatingSystem {
            id,
            name: name.into(),
            title: title.map(Into::into),
            major: Some(major.into()),
            minor: Some(minor.into()),
            description: None,
            family: None,
            release_name: None,
        }
    }

    #[test]
    fn lookup_requests_search_exactly_and_ask_for_all() {
        let r = lookup_request::<OperatingSystem>("RedHat 9.4")
            .unwrap()
            .request();
        assert_eq!(r.path, "/api/operatingsystems");
        assert_eq!(r.query_value("search"), Some(r#"title = "RedHat 9.4""#));
        assert_eq!(r.query_value("per_page"), Some("all"));
        let r = lookup_request::<PartitionTable>("Kickstart default")
            .unwrap()
            .request();
        assert_eq!(
            (r.path.as_str(), r.query_value("search")),
            ("/api/ptables", Some(r#"name = "Kickstart default""#))
        );
        let r = lookup_request::<Hostgroup>("base/compute")
            .unwrap()
            .request();
        assert_eq!(r.query_value("search"), Some(r#"name = "compute""#));
        assert!(lookup_request::<Medium>(r#"a"b'c"#).is_err());
        assert_eq!(ShowObject::<Medium>::new(9).request().path, "/api/media/9");
    }

    #[test]
    fn exactly_one_or_a_clear_error() {
        let found = pick_one(
            "RedHat 9.4",
            vec![
                os(1, "RedHat", "9", "4", Some("RedHat 9.4")),
                os(2, "RedHat", "9", "4", Some("RedHat 9.4 (EUS)")),
            ],
        )
        .unwrap();
        assert_eq!(found.id, 1);
        let unknown = pick_one::<OperatingSystem>("RedHat 10", vec![]).unwrap_err();
        assert!(matches!(
            unknown,
            Error::Lookup {
                problem: LookupProblem::Unknown,
                ..
            }
        ));
        assert!(
            unknown
                .to_string()
                .starts_with("operating system \"RedHat 10\" not found")
        );
        // No title in the answer: fall back to `name major.minor`.
        let old = pick_one("CentOS 7.9", vec![os(5, "CentOS", "7", "9", None)]).unwrap();
        assert_eq!(old.label(), "CentOS 7.9");
    }

    #[test]
    fn hostgroup_names_and_titles() {
        let group = |id, name: &str, title: &str| Hostgroup {
            id,
            name: name.into(),
            title: Some(title.into()),
            description: None,
            operatingsystem_id: None,
            ptable_id: None,
            medium_id: None,
            architecture_id: None,
            parent_id: None,
        };
        let groups = vec![
            group(1, "compute", "base/compute"),
            group(2, "compute", "gpu/compute"),
        ];
        assert_eq!(pick_one("gpu/compute", groups.clone()).unwrap().id, 2);
        match pick_one("compute", groups).unwrap_err() {
            Error::Lookup {
                problem: LookupProblem::Ambiguous { candidates },
                ..
            } => assert_eq!(
                candidates,
                vec![
                    (1, "base/compute".to_owned()),
                    (2, "gpu/compute".to_owned())
                ]
            ),
            other => panic!("{other}"),
        }
        let top = vec![group(3, "base", "base")];
        assert_eq!(pick_one("base", top).unwrap().id, 3);
    }

    #[test]
    fn names_must_match_exactly() {
        let tables: Vec<PartitionTable> = serde_json::from_str(
            r#"[{"id":1,"name":"Kickstart default"},{"id":2,"name":"Kickstart default thin"}]"#,
        )
        .unwrap();
        assert_eq!(pick_one("Kickstart default", tables.clone()).unwrap().id, 1);
        assert!(pick_one("kickstart default", tables).is_err());
    }
}
