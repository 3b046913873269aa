//! Index listings: Foreman's page envelope ([`Page`]), the list request of any collection
//! ([`ListRequest`], pure), and the [`ListCall`] builder that sends one page or walks them all.
//!
//! Foreman pages with `page` (from 1) and `per_page` (a number, or `all` for everything in one
//! answer). Walking pages is not a snapshot: objects that stop matching the search while the
//! walk is under way shift later pages. When the result must be consistent (polling
//! `build = true` hosts), ask for [`PerPage::All`].

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::client::ForemanClient;
use crate::de;
use crate::error::{DecodeError, Error, decode_json};
use crate::request::{ApiRequest, Endpoint, Search};

/// How many results one page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerPage {
    /// At most this many (Foreman's default is its `entries_per_page` setting, 20).
    Count(u64),
    /// Every matching object in one answer (`per_page=all`).
    All,
}

impl fmt::Display for PerPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::All => f.write_str("all"),
        }
    }
}

/// One page of an index answer.
///
/// Foreman 1.22 through 3.x send the same envelope; some versions send `page` and `per_page`
/// as strings, and `per_page` equals `total` when `all` was asked for. Every metadata field is
/// optional here.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
pub struct Page<T> {
    /// Objects the user may see, before the search.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub total: Option<u64>,
    /// Objects matching the search.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub subtotal: Option<u64>,
    /// This page's number.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub page: Option<u64>,
    /// The page size Foreman used.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub per_page: Option<u64>,
    /// The search Foreman applied.
    #[serde(default, deserialize_with = "de::lenient_string")]
    pub search: Option<String>,
    /// The objects.
    #[serde(default = "Vec::new", deserialize_with = "de::null_as_empty")]
    pub results: Vec<T>,
}

impl<T> Page<T> {
    /// How many objects match in all pages (`subtotal`, else `total`, else this page's count).
    #[must_use]
    pub fn matching(&self) -> u64 {
        self.subtotal
            .or(self.total)
            .unwrap_or(self.results.len() as u64)
    }
}

/// Search, order and paging of an index request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Scoped search (`name = x`, `build = true`).
    pub search: Option<String>,
    /// Sort order (`name ASC`).
    pub order: Option<String>,
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Page size.
    pub per_page: Option<PerPage>,
}

/// The index request of one collection (`GET /api/hosts`, `GET /api/hosts/7/parameters`, ...),
/// giving a [`Page`] of `T`.
///
/// ```
/// use foreman_client::{Endpoint, PerPage, hosts::Host, pagination::ListRequest};
///
/// let list = ListRequest::<Host>::new("/api/hosts").search("build = true").per_page(PerPage::All);
/// assert_eq!(list.request().path_and_query(), "/api/hosts?search=build%20%3D%20true&per_page=all");
/// ```
pub struct ListRequest<T> {
    path: String,
    query: ListQuery,
    fixed: Vec<(String, String)>,
    item: PhantomData<fn() -> T>,
}

impl<T> Clone for ListRequest<T> {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            query: self.query.clone(),
            fixed: self.fixed.clone(),
            item: PhantomData,
        }
    }
}

impl<T> fmt::Debug for ListRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListRequest")
            .field("path", &self.path)
            .field("query", &self.query)
            .field("fixed", &self.fixed)
            .finish()
    }
}

impl<T> ListRequest<T> {
    /// The index at `path` (encoded, starting with `/api`).
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            query: ListQuery::default(),
            fixed: Vec::new(),
            item: PhantomData,
        }
    }

    /// A query parameter this listing always sends (such as `thin=true`).
    #[must_use]
    pub fn with_fixed(mut self, name: &str, value: &str) -> Self {
        self.fixed.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Filters with a scoped search.
    #[must_use]
    pub fn search(mut self, search: impl Into<String>) -> Self {
        self.query.search = Some(search.into());
        self
    }

    /// Sorts (`name DESC`).
    #[must_use]
    pub fn order(mut self, order: impl Into<String>) -> Self {
        self.query.order = Some(order.into());
        self
    }

    /// Asks for page `page` (from 1).
    #[must_use]
    pub fn page(mut self, page: u64) -> Self {
        self.query.page = Some(page);
        self
    }

    /// Sets the page size.
    #[must_use]
    pub fn per_page(mut self, per_page: PerPage) -> Self {
        self.query.per_page = Some(per_page);
        self
    }

    /// The search, order and paging.
    #[must_use]
    pub fn list_query(&self) -> &ListQuery {
        &self.query
    }
}

impl<T: DeserializeOwned> Endpoint for ListRequest<T> {
    type Output = Page<T>;

    fn request(&self) -> ApiRequest {
        let mut request = ApiRequest::get(self.path.clone());
        for (name, value) in &self.fixed {
            request = request.query(name.clone(), value.clone());
        }
        if let Some(search) = self
            .query
            .search
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            request = request.query("search", search);
        }
        if let Some(order) = &self.query.order {
            request = request.query("order", order.clone());
        }
        if let Some(page) = self.query.page {
            request = request.query("page", page.to_string());
        }
        if let Some(per_page) = self.query.per_page {
            request = request.query("per_page", per_page.to_string());
        }
        request
    }

    fn parse(&self, body: &[u8]) -> Result<Page<T>, DecodeError> {
        decode_json(body)
    }
}

/// The page after `current`, if the walk must go on: not when everything fit in one answer,
/// when the page came back empty or short, or when everything that matches was collected.
#[must_use]
pub fn next_page<T>(
    requested: Option<PerPage>,
    current: u64,
    page: &Page<T>,
    collected: usize,
) -> Option<u64> {
    if requested == Some(PerPage::All) || page.results.is_empty() {
        return None;
    }
    let size = page
        .per_page
        .filter(|n| *n > 0)
        .or(match requested {
            Some(PerPage::Count(n)) => Some(n),
            _ => None,
        })
        .unwrap_or(page.results.len() as u64);
    if (page.results.len() as u64) < size {
        return None;
    }
    match page.subtotal.or(page.total) {
        Some(matching) if collected as u64 >= matching => None,
        _ => Some(current + 1),
    }
}

/// How many pages a walk may take, judged from its first page: one more than the matching
/// objects need, or a generous bound when Foreman gave no counts. A server that ignores `page`
/// cannot keep a walk going forever.
#[must_use]
pub fn page_limit<T>(first: &Page<T>) -> u64 {
    const WITHOUT_COUNTS: u64 = 10_000;
    match first.subtotal.or(first.total) {
        Some(matching) => {
            let size = first
                .per_page
                .filter(|n| *n > 0)
                .unwrap_or(first.results.len().max(1) as u64);
            matching / size + 2
        }
        None => WITHOUT_COUNTS,
    }
}

/// A listing about to be sent: [`ListCall::send`] for one page, [`ListCall::all`] for every
/// page.
///
/// ```no_run
/// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
/// use foreman_client::PerPage;
///
/// // One page of 50.
/// let page = client.hosts().list().search("build = true").per_page(PerPage::Count(50)).send().await?;
/// println!("{} of {} hosts in build mode", page.results.len(), page.matching());
/// // Every page, 100 at a time.
/// let all = client.hosts().list().per_page(PerPage::Count(100)).all().await?;
/// # Ok(()) }
/// ```
#[must_use = "a listing does nothing until it is sent"]
pub struct ListCall<'c, T> {
    client: &'c ForemanClient,
    request: ListRequest<T>,
}

impl<T> fmt::Debug for ListCall<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListCall")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<'c, T: DeserializeOwned> ListCall<'c, T> {
    pub(crate) fn new(client: &'c ForemanClient, request: ListRequest<T>) -> Self {
        Self { client, request }
    }

    /// Filters with a scoped search (`name = node01.example.com`, `build = true`).
    pub fn search(mut self, search: impl Into<String>) -> Self {
        self.request = self.request.search(search);
        self
    }

    /// Filters with a [`Search`].
    pub fn search_for(self, search: Search) -> Self {
        self.search(search)
    }

    /// Sorts (`name DESC`).
    pub fn order(mut self, order: impl Into<String>) -> Self {
        self.request = self.request.order(order);
        self
    }

    /// Asks for page `page` (from 1); [`ListCall::all`] starts there.
    pub fn page(mut self, page: u64) -> Self {
        self.request = self.request.page(page);
        self
    }

    /// Sets the page size.
    pub fn per_page(mut self, per_page: PerPage) -> Self {
        self.request = self.request.per_page(per_page);
        self
    }

    /// The request as it stands.
    #[must_use]
    pub fn request(&self) -> &ListRequest<T> {
        &self.request
    }

    /// Sends the request and returns one page.
    ///
    /// # Errors
    /// Any [`Error`] of the request.
    pub async fn send(self) -> Result<Page<T>, Error> {
        self.client.execute(&self.request).await
    }

    /// Walks every page from the requested one (1 by default) and returns all results.
    ///
    /// # Errors
    /// Any [`Error`] of a page request; [`Error::Inconsistent`] if the pages never end.
    pub async fn all(self) -> Result<Vec<T>, Error> {
        let requested = self.request.query.per_page;
        let mut number = self.request.query.page.unwrap_or(1);
        let mut collected = Vec::new();
        let mut pages = 0u64;
        let mut limit = u64::MAX;
        loop {
            let request = self.request.clone().page(number);
            let page = self.client.execute(&request).await?;
            pages += 1;
            if pages == 1 {
                limit = page_limit(&page);
            }
            let next = next_page(
                requested,
                number,
                &page,
                collected.len() + page.results.len(),
            );
            collected.extend(page.results);
            match next {
                None => return Ok(collected),
                Some(_) if pages >= limit => {
                    let api = request.request();
                    return Err(Error::Inconsistent {
                        method: api.method.clone(),
                        url: self.client.url().join(&api.path_and_query()),
                        what: format!("pagination did not end after {pages} pages"),
                    });
                }
                Some(n) => number = n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        id: u64,
    }

    fn page(json: &str) -> Page<Item> {
        ListRequest::<Item>::new("/api/x")
            .parse(json.as_bytes())
            .unwrap()
    }

    #[test]
    fn parses_the_envelope_of_each_version() {
        // 3.x: numbers, sort object.
        let p = page(
            r#"{"total":3,"subtotal":2,"page":1,"per_page":20,"search":"build = true","sort":{"by":null,"order":null},"results":[{"id":1},{"id":2}]}"#,
        );
        assert_eq!(
            (p.total, p.subtotal, p.page, p.per_page),
            (Some(3), Some(2), Some(1), Some(20))
        );
        assert_eq!(p.search.as_deref(), Some("build = true"));
        assert_eq!(p.matching(), 2);
        // 1.x: page and per_page as strings, null search.
        let p = page(
            r#"{"total":3,"subtotal":3,"page":"2","per_page":"2","search":null,"results":[{"id":3}]}"#,
        );
        assert_eq!((p.page, p.per_page, p.search), (Some(2), Some(2), None));
        // Unknown envelope fields and a missing subtotal.
        let p = page(r#"{"total":1,"can_create":true,"results":[{"id":9,"extra":1}]}"#);
        assert_eq!(p.matching(), 1);
        assert_eq!(p.results, vec![Item { id: 9 }]);
    }

    #[test]
    fn query_has_only_what_was_set() {
        let r = ListRequest::<Item>::new("/api/hosts").request();
        assert_eq!(r.path_and_query(), "/api/hosts");
        let r = ListRequest::<Item>::new("/api/hosts")
            .with_fixed("thin", "true")
            .search("name = x")
            .order("name DESC")
            .page(3)
            .per_page(PerPage::Count(5))
            .request();
        assert_eq!(
            r.path_and_query(),
            "/api/hosts?thin=true&search=name%20%3D%20x&order=name%20DESC&page=3&per_page=5"
        );
        let blank = ListRequest::<Item>::new("/api/hosts")
            .search("  ")
            .request();
        assert_eq!(blank.query_value("search"), None);
    }

    #[test]
    fn walks_are_bounded() {
        assert_eq!(
            page_limit(&page(
                r#"{"subtotal":5,"per_page":2,"results":[{"id":1},{"id":2}]}"#
            )),
            4
        );
        assert_eq!(page_limit(&page(r#"{"total":0,"results":[]}"#)), 2);
        assert_eq!(page_limit(&page(r#"{"results":[{"id":1}]}"#)), 10_000);
    }

    #[test]
    fn next_page_stops_at_the_end() {
        let full = page(r#"{"subtotal":5,"per_page":2,"results":[{"id":1},{"id":2}]}"#);
        assert_eq!(next_page(Some(PerPage::Count(2)), 1, &full, 2), Some(2));
        assert_eq!(next_page(Some(PerPage::Count(2)), 2, &full, 4), Some(3));
        assert_eq!(next_page(Some(PerPage::Count(2)), 3, &full, 6), None);
        let short = page(r#"{"subtotal":5,"per_page":2,"results":[{"id":5}]}"#);
        assert_eq!(next_page(Some(PerPage::Count(2)), 3, &short, 5), None);
        let empty = page(r#"{"subtotal":5,"per_page":2,"results":[]}"#);
        assert_eq!(next_page(Some(PerPage::Count(2)), 4, &empty, 4), None);
        assert_eq!(next_page(Some(PerPage::All), 1, &full, 2), None);
        // No metadata at all: go on while pages are full.
        let bare = page(r#"{"results":[{"id":1},{"id":2}]}"#);
        assert_eq!(next_page(Some(PerPage::Count(2)), 1, &bare, 2), Some(2));
    }
}
