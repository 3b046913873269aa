//! Discovery, cached per BMC and fetched lazily: the service root, the system, manager and
//! chassis members, the manager's document, the vendor and (for Dell) which generation's
//! resource paths answer. Each part is read only when an operation needs it (a power-state read
//! costs the root and the `Systems` collection, not the managers or chassis), once per BMC;
//! concurrent callers share one GET (each cache is a `OnceCell`); a failed read is not cached.
//! Power, jobs, boot overrides and BIOS values are state and are never cached across
//! operations.

use std::sync::{Arc, PoisonError};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::client::Bmc;
use crate::error::Error;
use crate::request::Call;
use crate::vendor::{self, DellGeneration, DellResource, Quirks, Vendor};
use crate::wire;

/// What the unauthenticated service root says.
#[derive(Debug, Clone, PartialEq)]
pub struct RootInfo {
    /// `RedfishVersion`.
    pub redfish_version: Option<String>,
    /// The session collection (`Links.Sessions`), if the BMC has a session service.
    pub sessions: Option<String>,
    /// `Systems`.
    pub systems: Option<String>,
    /// `Managers`.
    pub managers: Option<String>,
    /// `Chassis`.
    pub chassis: Option<String>,
    /// `AccountService`.
    pub account_service: Option<String>,
    /// `UpdateService`.
    pub update_service: Option<String>,
    /// `Registries`.
    pub registries: Option<String>,
    /// Dell's service tag (`Oem.Dell.ServiceTag`).
    pub service_tag: Option<String>,
    /// How the service expands a collection's members into one answer.
    pub expand: ExpandSupport,
    /// The vendor the root names (`Vendor`, `Product`, `Oem`), `None` when it names none (the
    /// manager's document then decides). The document itself is not kept: a fleet's clients
    /// remember one root per BMC.
    pub vendor: Option<Vendor>,
}

/// What `ProtocolFeaturesSupported.ExpandQuery` says the service expands: a collection read
/// with it carries its members' bodies, one request instead of one per member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpandSupport {
    /// No `$expand` (not advertised, or a service older than the property).
    Unsupported,
    /// `.`: subordinate references, not `Links` (the least work for the BMC).
    NoLinks {
        /// Whether `$levels` may be given.
        levels: bool,
    },
    /// `*` only.
    All {
        /// Whether `$levels` may be given.
        levels: bool,
    },
}

impl ExpandSupport {
    /// Reads `ExpandQuery`; `.` is preferred to `*`, which also expands `Links`.
    #[must_use]
    pub fn from_wire(query: Option<&wire::ExpandQuery>) -> Self {
        let Some(query) = query else {
            return Self::Unsupported;
        };
        let levels = query.levels == Some(true) && query.max_levels.is_none_or(|m| m >= 1);
        if query.no_links == Some(true) {
            Self::NoLinks { levels }
        } else if query.expand_all == Some(true) {
            Self::All { levels }
        } else {
            Self::Unsupported
        }
    }

    /// The query that expands one level (`$expand=.($levels=1)`), if any.
    #[must_use]
    pub fn query(self) -> Option<&'static str> {
        match self {
            Self::Unsupported => None,
            Self::NoLinks { levels: true } => Some("$expand=.($levels=1)"),
            Self::NoLinks { levels: false } => Some("$expand=."),
            Self::All { levels: true } => Some("$expand=*($levels=1)"),
            Self::All { levels: false } => Some("$expand=*"),
        }
    }
}

impl RootInfo {
    /// Reads a service root document, keeping only what the client uses (a document that is
    /// not of the expected shape reads as one naming nothing).
    #[must_use]
    pub fn parse(raw: &Value) -> Self {
        let root = wire::ServiceRoot::deserialize(raw).unwrap_or_default();
        let link =
            |l: &Option<wire::Link>| l.as_ref().map(|l| l.id.clone()).filter(|s| !s.is_empty());
        let sessions = root
            .links
            .as_ref()
            .and_then(|l| link(&l.sessions))
            .or_else(|| {
                // Older services (Redfish < 1.6) link only the session service.
                link(&root.session_service).map(|s| format!("{}/Sessions", s.trim_end_matches('/')))
            });
        let service_tag = raw
            .pointer("/Oem/Dell/ServiceTag")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Self {
            redfish_version: root.redfish_version,
            sessions,
            systems: link(&root.systems),
            managers: link(&root.managers),
            chassis: link(&root.chassis),
            account_service: link(&root.account_service),
            update_service: link(&root.update_service),
            registries: link(&root.registries),
            service_tag,
            expand: ExpandSupport::from_wire(
                root.protocol_features_supported
                    .as_ref()
                    .and_then(|f| f.expand_query.as_ref()),
            ),
            vendor: vendor::vendor_from_root(raw),
        }
    }
}

/// What the client knows about a BMC's layout; cached for the life of the handle.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    /// Who made it.
    pub vendor: Vendor,
    /// iDRAC generation, for Dell.
    pub dell_generation: Option<DellGeneration>,
    /// The computer system (first member of `Systems`).
    pub system: String,
    /// The BMC itself (first member of `Managers`).
    pub manager: String,
    /// The chassis that matches the system (or the first one).
    pub chassis: Option<String>,
    /// The manager's `Model`.
    pub manager_model: Option<String>,
    /// The manager's `FirmwareVersion`.
    pub firmware_version: Option<String>,
    /// The quirk table row for this BMC.
    pub quirks: Quirks,
}

/// Picks the member whose last segment equals `same_id`, else the first.
#[must_use]
pub fn pick_member(members: &[String], same_id: Option<&str>) -> Option<String> {
    same_id
        .and_then(|id| members.iter().find(|m| m.rsplit('/').next() == Some(id)))
        .or_else(|| members.first())
        .cloned()
}

/// The manager as its document describes it (read once per BMC, and only by the operations
/// that need it: Dell generation, manager paths, a vendor the service root does not name).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ManagerDoc {
    pub(crate) model: Option<String>,
    pub(crate) firmware_version: Option<String>,
    /// The vendor its `Manufacturer`, `Model` and `Oem` name.
    pub(crate) vendor: Vendor,
    /// `Actions.Oem` (Dell's Server Configuration Profile actions), the rest not kept.
    pub(crate) oem_actions: Option<serde_json::Map<String, Value>>,
}

impl Bmc {
    /// The service root (fetched without credentials, once per BMC: the client keeps the last
    /// one read for the handles made on that BMC later, whoever they log in as).
    ///
    /// # Errors
    /// When the BMC cannot be reached or does not serve a Redfish root.
    pub async fn root(&self) -> Result<Arc<RootInfo>, Error> {
        self.inner
            .root
            .get_or_try_init(|| async {
                // Another handle (live or dropped since) may have read it after this one was
                // made.
                if let Some(root) = self.client().known_root(&self.inner.address) {
                    return Ok(root);
                }
                let reply = self
                    .execute_plain(&Call::get("/redfish/v1").unauthenticated())
                    .await?;
                let raw: Value = reply.json()?;
                let root = Arc::new(RootInfo::parse(&raw));
                self.client()
                    .remember_root(&self.inner.address, root.clone());
                Ok(root)
            })
            .await
            .cloned()
    }

    /// The BMC's whole layout: vendor, system, manager, chassis, generation. Each part is
    /// fetched once (operations ask only for the parts they need, see [`Bmc::system_path`],
    /// [`Bmc::vendor`], ...); concurrent callers wait for the same fetch.
    ///
    /// # Errors
    /// When a discovery request fails or the BMC lists no system or manager.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn discovery(&self) -> Result<Arc<Discovery>, Error> {
        self.inner
            .discovery
            .get_or_try_init(|| async {
                let system = self.system_path().await?;
                let manager = self.manager_path().await?;
                let chassis = self.chassis_path().await?;
                let doc = self.manager_doc().await?;
                let vendor = self.vendor().await?;
                let dell_generation = self.dell_generation().await?;
                tracing::debug!(%vendor, ?dell_generation, %system, %manager, "discovered");
                Ok(Arc::new(Discovery {
                    vendor,
                    dell_generation,
                    system,
                    manager,
                    chassis,
                    manager_model: doc.model.clone(),
                    firmware_version: doc.firmware_version.clone(),
                    quirks: vendor::quirks(vendor, dell_generation),
                }))
            })
            .await
            .cloned()
    }

    /// The computer system (first member of `Systems`): one GET of the collection, once.
    ///
    /// # Errors
    /// When the collection cannot be read or is empty.
    pub async fn system_path(&self) -> Result<String, Error> {
        self.inner
            .system
            .get_or_try_init(|| async {
                let root = self.root().await?;
                let systems = root
                    .systems
                    .clone()
                    .ok_or_else(|| self.err_unsupported("no Systems collection"))?;
                let members = self.members(&systems).await?;
                pick_member(&members, None)
                    .ok_or_else(|| self.err_unsupported("the Systems collection is empty"))
            })
            .await
            .cloned()
    }

    /// The BMC itself (first member of `Managers`): one GET of the collection, once.
    ///
    /// # Errors
    /// When the collection cannot be read or is empty.
    pub async fn manager_path(&self) -> Result<String, Error> {
        self.inner
            .manager
            .get_or_try_init(|| async {
                let root = self.root().await?;
                let managers = root
                    .managers
                    .clone()
                    .ok_or_else(|| self.err_unsupported("no Managers collection"))?;
                let members = self.members(&managers).await?;
                pick_member(&members, None)
                    .ok_or_else(|| self.err_unsupported("the Managers collection is empty"))
            })
            .await
            .cloned()
    }

    /// The chassis that matches the system (or the first one); `None` without a chassis
    /// collection. Read once.
    ///
    /// # Errors
    /// When the system cannot be found.
    pub async fn chassis_path(&self) -> Result<Option<String>, Error> {
        self.inner
            .chassis
            .get_or_try_init(|| async {
                let system = self.system_path().await?;
                Ok(match self.root().await?.chassis.clone() {
                    Some(path) => {
                        let members = self.members(&path).await.unwrap_or_default();
                        pick_member(&members, system.rsplit('/').next())
                    }
                    None => None,
                })
            })
            .await
            .cloned()
    }

    /// The manager's document (model, firmware), read once.
    pub(crate) async fn manager_doc(&self) -> Result<Arc<ManagerDoc>, Error> {
        self.inner
            .manager_doc
            .get_or_try_init(|| async {
                let path = self.manager_path().await?;
                let raw: Value = self.get(&path).await?;
                let typed = wire::Manager::deserialize(&raw).unwrap_or_default();
                Ok(Arc::new(ManagerDoc {
                    model: typed.model,
                    firmware_version: typed.firmware_version,
                    vendor: vendor::detect_vendor(&Value::Null, Some(&raw)),
                    oem_actions: raw
                        .pointer("/Actions/Oem")
                        .and_then(Value::as_object)
                        .cloned(),
                }))
            })
            .await
            .cloned()
    }

    /// Who made the BMC: from the service root when it says (no request beyond it), else
    /// from the manager's document.
    ///
    /// # Errors
    /// When the root or the manager cannot be read.
    pub async fn vendor(&self) -> Result<Vendor, Error> {
        self.inner
            .vendor
            .get_or_try_init(|| async {
                let root = self.root().await?;
                // A root that names no vendor adds nothing to the manager's evidence.
                if let Some(vendor) = root.vendor {
                    return Ok(vendor);
                }
                Ok(self.manager_doc().await?.vendor)
            })
            .await
            .copied()
    }

    /// The iDRAC generation (`None` for other vendors): from the manager's model and
    /// firmware, so a Dell costs the manager's document once.
    ///
    /// # Errors
    /// When the manager cannot be read.
    pub async fn dell_generation(&self) -> Result<Option<DellGeneration>, Error> {
        if self.vendor().await? != Vendor::Dell {
            return Ok(None);
        }
        let doc = self.manager_doc().await?;
        Ok(Some(vendor::guess_dell_generation(
            doc.model.as_deref(),
            doc.firmware_version.as_deref(),
        )))
    }

    /// The quirk table row for this BMC (reads the manager only on a Dell, for its generation).
    ///
    /// # Errors
    /// As [`Bmc::vendor`] and [`Bmc::dell_generation`].
    pub async fn quirks(&self) -> Result<Quirks, Error> {
        let vendor = self.vendor().await?;
        Ok(vendor::quirks(vendor, self.dell_generation().await?))
    }

    /// The path of a Dell OEM resource: the candidates for the guessed generation are probed
    /// in order, the first that answers is remembered. Concurrent callers share the probe.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when no candidate answers (or the BMC is not a Dell).
    pub async fn dell_path(&self, resource: DellResource) -> Result<String, Error> {
        Ok(self.dell_probe(resource).await?.0)
    }

    /// GETs a Dell OEM resource: the probe that found its path is the read when this call
    /// made it (one GET, not two); otherwise the remembered path is read now.
    pub(crate) async fn dell_get<T: serde::de::DeserializeOwned>(
        &self,
        resource: DellResource,
    ) -> Result<(String, T), Error> {
        match self.dell_probe(resource).await? {
            (path, Some(reply)) => {
                let value = reply.json()?;
                Ok((path, value))
            }
            (path, None) => {
                let value = self.get(&path).await?;
                Ok((path, value))
            }
        }
    }

    /// The path, and the probe's answer when this call was the one that probed.
    pub(crate) async fn dell_probe(
        &self,
        resource: DellResource,
    ) -> Result<(String, Option<crate::request::Reply>), Error> {
        // The generation (the manager's document) and the system are independent reads.
        let (generation, system) = tokio::try_join!(self.dell_generation(), self.system_path())?;
        let Some(generation) = generation else {
            return Err(self.err_unsupported(format!("{resource:?} is a Dell iDRAC resource")));
        };
        let cell = {
            let mut probes = self
                .inner
                .probes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            probes
                .entry(resource)
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        let mut answer = None;
        let answered = &mut answer;
        let path = cell
            .get_or_try_init(|| async move {
                let manager = self.manager_path().await?;
                for candidate in vendor::dell_candidates(resource, generation, &system, &manager)
                {
                    match self.execute(&Call::get(&candidate)).await {
                        Ok(reply) => {
                            tracing::debug!(bmc = %self.name(), ?resource, path = %candidate, "probed");
                            *answered = Some(reply);
                            return Ok(candidate);
                        }
                        Err(e)
                            if matches!(
                                e.status(),
                                Some(
                                    http::StatusCode::NOT_FOUND
                                        | http::StatusCode::BAD_REQUEST
                                        | http::StatusCode::METHOD_NOT_ALLOWED
                                        | http::StatusCode::NOT_IMPLEMENTED
                                )
                            ) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(self.err_unsupported(format!("no {resource:?} resource answers")))
            })
            .await?
            .clone();
        Ok((path, answer))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn root_links_sessions_or_the_session_service() {
        let raw = json!({
            "RedfishVersion": "1.11.0",
            "Systems": {"@odata.id": "/redfish/v1/Systems"},
            "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}},
            "Oem": {"Dell": {"ServiceTag": "ABC1234"}}
        });
        let info = RootInfo::parse(&raw);
        assert_eq!(
            info.sessions.as_deref(),
            Some("/redfish/v1/SessionService/Sessions")
        );
        assert_eq!(info.service_tag.as_deref(), Some("ABC1234"));
        assert_eq!(info.systems.as_deref(), Some("/redfish/v1/Systems"));
        assert_eq!(info.vendor, Some(Vendor::Dell));

        let raw = json!({"SessionService": {"@odata.id": "/redfish/v1/SessionService/"}});
        let info = RootInfo::parse(&raw);
        assert_eq!(
            info.sessions.as_deref(),
            Some("/redfish/v1/SessionService/Sessions")
        );

        let raw = json!({});
        assert_eq!(RootInfo::parse(&raw).sessions, None);
    }

    #[test]
    fn expand_support_from_the_root() {
        let parse = |features: Value| {
            let raw = json!({"ProtocolFeaturesSupported": features});
            RootInfo::parse(&raw).expand
        };
        let idrac = parse(json!({"ExpandQuery": {
            "ExpandAll": true, "Levels": true, "Links": true, "NoLinks": true, "MaxLevels": 1
        }}));
        assert_eq!(idrac, ExpandSupport::NoLinks { levels: true });
        assert_eq!(idrac.query(), Some("$expand=.($levels=1)"));
        let all = parse(json!({"ExpandQuery": {"ExpandAll": true, "Levels": true}}));
        assert_eq!(all.query(), Some("$expand=*($levels=1)"));
        let dot = parse(json!({"ExpandQuery": {"NoLinks": true}}));
        assert_eq!(dot.query(), Some("$expand=."));
        let none = parse(json!({"ExpandQuery": {
            "ExpandAll": false, "Levels": false, "Links": false, "NoLinks": false
        }}));
        assert_eq!(none, ExpandSupport::Unsupported);
        assert_eq!(parse(json!({})).query(), None);
        assert_eq!(parse(json!({"ExpandQuery": {"Links": true}})).query(), None);
    }

    #[test]
    fn member_choice() {
        let members = vec![
            "/redfish/v1/Chassis/Enclosure.Internal.0-1".to_owned(),
            "/redfish/v1/Chassis/System.Embedded.1".to_owned(),
        ];
        assert_eq!(
            pick_member(&members, Some("System.Embedded.1")).unwrap(),
            "/redfish/v1/Chassis/System.Embedded.1"
        );
        assert_eq!(pick_member(&members, Some("x")).unwrap(), members[0]);
        assert_eq!(pick_member(&[], None), None);
    }
}
