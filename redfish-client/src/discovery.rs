//! Discovery, cached per BMC: the service root, the system, manager and chassis members, the
//! vendor and (for Dell) which generation's resource paths answer. Concurrent callers share one
//! set of GETs (each cache is a `OnceCell`); a failed discovery is not cached. Power, jobs and
//! boot overrides are state and are never cached.

use std::sync::{Arc, PoisonError};

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
    /// The raw document, for vendor detection.
    pub raw: Value,
}

impl RootInfo {
    /// Reads a service root document.
    ///
    /// # Errors
    /// When it is not a JSON object of the expected shape.
    pub fn parse(raw: Value, root: &wire::ServiceRoot) -> Self {
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
            redfish_version: root.redfish_version.clone(),
            sessions,
            systems: link(&root.systems),
            managers: link(&root.managers),
            chassis: link(&root.chassis),
            account_service: link(&root.account_service),
            update_service: link(&root.update_service),
            registries: link(&root.registries),
            service_tag,
            raw,
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

impl Bmc {
    /// The service root (fetched without credentials, once).
    ///
    /// # Errors
    /// When the BMC cannot be reached or does not serve a Redfish root.
    pub async fn root(&self) -> Result<Arc<RootInfo>, Error> {
        self.inner
            .root
            .get_or_try_init(|| async {
                let reply = self
                    .execute_plain(&Call::get("/redfish/v1").unauthenticated())
                    .await?;
                let typed: wire::ServiceRoot = reply.json()?;
                let raw: Value = reply.json()?;
                Ok(Arc::new(RootInfo::parse(raw, &typed)))
            })
            .await
            .cloned()
    }

    /// The BMC's layout: vendor, system, manager, chassis, generation. Fetched once; concurrent
    /// callers wait for the same fetch.
    ///
    /// # Errors
    /// When a discovery request fails or the BMC lists no system or manager.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn discovery(&self) -> Result<Arc<Discovery>, Error> {
        self.inner
            .discovery
            .get_or_try_init(|| self.discover())
            .await
            .cloned()
    }

    async fn discover(&self) -> Result<Arc<Discovery>, Error> {
        let root = self.root().await?;
        let systems = root
            .systems
            .clone()
            .ok_or_else(|| self.err_unsupported("no Systems collection"))?;
        let managers = root
            .managers
            .clone()
            .ok_or_else(|| self.err_unsupported("no Managers collection"))?;
        let system_members = self.members(&systems).await?;
        let system = pick_member(&system_members, None)
            .ok_or_else(|| self.err_unsupported("the Systems collection is empty"))?;
        let manager_members = self.members(&managers).await?;
        let manager = pick_member(&manager_members, None)
            .ok_or_else(|| self.err_unsupported("the Managers collection is empty"))?;
        let chassis = match &root.chassis {
            Some(path) => {
                let members = self.members(path).await.unwrap_or_default();
                pick_member(&members, system.rsplit('/').next())
            }
            None => None,
        };
        let manager_doc: Value = self.get(&manager).await?;
        let manager_typed: wire::Manager =
            serde_json::from_value(manager_doc.clone()).unwrap_or_default();
        let vendor = vendor::detect_vendor(&root.raw, Some(&manager_doc));
        let dell_generation = (vendor == Vendor::Dell).then(|| {
            vendor::guess_dell_generation(
                manager_typed.model.as_deref(),
                manager_typed.firmware_version.as_deref(),
            )
        });
        tracing::debug!(%vendor, ?dell_generation, %system, %manager, "discovered");
        Ok(Arc::new(Discovery {
            vendor,
            dell_generation,
            system,
            manager,
            chassis,
            manager_model: manager_typed.model,
            firmware_version: manager_typed.firmware_version,
            quirks: vendor::quirks(vendor, dell_generation),
        }))
    }

    /// The path of a Dell OEM resource: the candidates for the guessed generation are probed
    /// in order, the first that answers is remembered. Concurrent callers share the probe.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when no candidate answers (or the BMC is not a Dell).
    pub async fn dell_path(&self, resource: DellResource) -> Result<String, Error> {
        let d = self.discovery().await?;
        let Some(generation) = d.dell_generation else {
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
        cell.get_or_try_init(|| async {
            for candidate in vendor::dell_candidates(resource, generation, &d.system, &d.manager) {
                match self.execute(&Call::get(&candidate)).await {
                    Ok(_) => {
                        tracing::debug!(bmc = %self.name(), ?resource, path = %candidate, "probed");
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
        .await
        .cloned()
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
        let typed: wire::ServiceRoot = serde_json::from_value(raw.clone()).unwrap();
        let info = RootInfo::parse(raw, &typed);
        assert_eq!(
            info.sessions.as_deref(),
            Some("/redfish/v1/SessionService/Sessions")
        );
        assert_eq!(info.service_tag.as_deref(), Some("ABC1234"));
        assert_eq!(info.systems.as_deref(), Some("/redfish/v1/Systems"));

        let raw = json!({"SessionService": {"@odata.id": "/redfish/v1/SessionService/"}});
        let typed: wire::ServiceRoot = serde_json::from_value(raw.clone()).unwrap();
        let info = RootInfo::parse(raw, &typed);
        assert_eq!(
            info.sessions.as_deref(),
            Some("/redfish/v1/SessionService/Sessions")
        );

        let raw = json!({});
        let typed: wire::ServiceRoot = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(RootInfo::parse(raw, &typed).sessions, None);
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
