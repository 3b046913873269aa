//! Reading collections: one GET of the expanded collection where the BMC offers `$expand`
//! (remembering a refusal for the handle's life), else the member list and a GET per member,
//! each decoded with its path and `ETag`.

use std::sync::atomic::Ordering;

use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::Bmc;
use crate::error::Error;
use crate::request::Call;
use crate::wire;

impl Bmc {
    /// The member paths of a collection.
    pub(crate) async fn members(&self, path: &str) -> Result<Vec<String>, Error> {
        Ok(self.get::<wire::Collection>(path).await?.paths())
    }

    /// Every member of `collection`, decoded, in the collection's order, each with its path
    /// and its `ETag` when the BMC told it (for a PATCH without another GET). One GET of the
    /// expanded collection where the service root advertises `$expand`; otherwise, or when
    /// the BMC refuses the query or answers bare references, the collection and a GET per
    /// member.
    pub(crate) async fn members_all<T>(&self, collection: &str) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.members_where(collection, |_| true).await
    }

    /// [`Bmc::members_all`] for the members whose path `keep` accepts (the others are not read
    /// one by one).
    pub(crate) async fn members_where<T, F>(
        &self,
        collection: &str,
        keep: F,
    ) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(&str) -> bool + Send,
    {
        if let Some(mut members) = self.try_expanded(collection).await? {
            members.retain(|m| keep(&m.path));
            return Ok(members);
        }
        let paths: Vec<String> = self
            .members(collection)
            .await?
            .into_iter()
            .filter(|p| keep(p))
            .collect();
        self.get_all(paths).await
    }

    /// The members `listed` by a read of `collection` made without `$expand` (a probe): one
    /// expanded GET when there are several and the BMC offers it, else a GET per member.
    pub(crate) async fn members_listed<T>(
        &self,
        collection: &str,
        listed: Vec<String>,
    ) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        if listed.len() > 1
            && let Some(members) = self.try_expanded(collection).await?
        {
            return Ok(members);
        }
        self.get_all(listed).await
    }

    /// The expanded members of `collection`; `None` when the BMC does not offer `$expand`, has
    /// refused it before or now, or answered bare references.
    async fn try_expanded<T>(&self, collection: &str) -> Result<Option<Vec<Member<T>>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        if self.inner.expand_refused.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(query) = self.root().await?.expand.query() else {
            return Ok(None);
        };
        match self.expanded::<T>(collection, query).await {
            Ok(Some(members)) => Ok(Some(members)),
            Ok(None) => {
                tracing::debug!(bmc = %self.name(), %collection, "expanded members came as references, reading them one by one");
                self.inner.expand_refused.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) if expand_refusal(&e) => {
                tracing::debug!(bmc = %self.name(), %collection, error = %e, "expand refused, reading members one by one");
                self.inner.expand_refused.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// One GET of `collection` with `query`; `None` when a member is a bare reference (the
    /// BMC ignored the query).
    async fn expanded<T: DeserializeOwned>(
        &self,
        collection: &str,
        query: &str,
    ) -> Result<Option<Vec<Member<T>>>, Error> {
        let separator = if collection.contains('?') { '&' } else { '?' };
        let call = Call::get(format!("{collection}{separator}{query}"));
        let reply = self.execute(&call).await?;
        let page: wire::ExpandedCollection = reply.json()?;
        let mut out = Vec::with_capacity(page.members.len());
        for (i, member) in page.members.iter().enumerate() {
            let Some((path, etag)) = expanded_member(member) else {
                return Ok(None);
            };
            let text = member.get();
            let decoded = match serde_json::from_str::<T>(text) {
                Ok(value) => Ok(value),
                // again, tracking the path, only to say where it went wrong
                Err(_) => {
                    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
                }
            };
            let value = decoded.map_err(|e| Error::Decode {
                bmc: self.name().to_owned(),
                method: http::Method::GET,
                url: call.path.clone(),
                path: format!("Members[{i}].{}", e.path()),
                reason: e.inner().to_string(),
                body: crate::error::excerpt(text.as_bytes()),
            })?;
            out.push(Member { path, value, etag });
        }
        Ok(Some(out))
    }

    /// GETs every path (at most the per-BMC limit in flight), in order, with their ETags.
    pub(crate) async fn get_all<T>(&self, paths: Vec<String>) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let mut set = JoinSet::new();
        for (i, path) in paths.into_iter().enumerate() {
            let bmc = self.clone();
            set.spawn(async move {
                let read = bmc.get_tagged::<T>(&path).await;
                (i, read.map(|(value, etag)| Member { path, value, etag }))
            });
        }
        let mut out: Vec<Option<Member<T>>> = (0..set.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            let (i, result) = joined.map_err(|e| Error::Config {
                reason: format!("a request task failed: {e}"),
            })?;
            out[i] = Some(result?);
        }
        Ok(out.into_iter().flatten().collect())
    }
}

/// A member of a collection as [`Bmc::members_all`] read it.
#[derive(Debug, Clone)]
pub(crate) struct Member<T> {
    /// Its `@odata.id`.
    pub(crate) path: String,
    /// Its body.
    pub(crate) value: T,
    /// Its `ETag` (`@odata.etag` of an expanded member, the header of a GET).
    pub(crate) etag: Option<String>,
}

/// The path and `@odata.etag` of one member of an expanded collection; `None` for a bare
/// reference (nothing but annotations) or something that is not a resource.
fn expanded_member(member: &serde_json::value::RawValue) -> Option<(String, Option<String>)> {
    let head: wire::MemberHead = serde_json::from_str(member.get()).ok()?;
    if !head.has_properties {
        return None;
    }
    Some((head.id?, head.etag))
}

/// Whether a BMC said no to a `$expand` query itself (not to the caller): 501 for an
/// unsupported query parameter, a 4xx for a value or resource it does not take it on.
fn expand_refusal(error: &Error) -> bool {
    error.status().is_some_and(|s| {
        s == http::StatusCode::NOT_IMPLEMENTED
            || (s.is_client_error()
                && !matches!(
                    s,
                    http::StatusCode::UNAUTHORIZED
                        | http::StatusCode::FORBIDDEN
                        | http::StatusCode::NOT_FOUND
                        | http::StatusCode::TOO_MANY_REQUESTS
                ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn member(json: &str) -> Option<(String, Option<String>)> {
        let raw: Box<serde_json::value::RawValue> = serde_json::from_str(json).unwrap();
        expanded_member(&raw)
    }

    #[test]
    fn an_expanded_member_gives_its_path_and_etag_and_a_bare_reference_none() {
        assert_eq!(
            member(
                r#"{"@odata.id": "/a/1", "@odata.etag": "W/\"7\"", "Id": "1", "Links": {"x": [1, {"y": null}]}}"#
            ),
            Some(("/a/1".to_owned(), Some("W/\"7\"".to_owned())))
        );
        assert_eq!(
            member(r#"{"Name": "n", "@odata.id": "/a/2"}"#),
            Some(("/a/2".to_owned(), None))
        );
        // a reference, annotations only, no path, not a resource
        assert_eq!(member(r#"{"@odata.id": "/a/3"}"#), None);
        assert_eq!(
            member(r##"{"@odata.id": "/a/3", "@odata.type": "#T"}"##),
            None
        );
        assert_eq!(member(r#"{"Id": "4"}"#), None);
        assert_eq!(member(r#"{"@odata.id": 4, "Id": "4"}"#), None);
        assert_eq!(member(r#""/a/5""#), None);
        assert_eq!(member("{}"), None);
    }
}
