//! Virtual media: list the slots, mount an image on the CD slot, eject it, and set a one-time
//! boot to it. DMTF `VirtualMedia` (Dell, generic, newer Supermicro) or Supermicro's legacy
//! `VM1` + `IsoConfig` API.

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::client::Bmc;
use crate::error::Error;
use crate::ops::bios::SettingsChange;
use crate::ops::boot::{BootOverride, BootSource};
use crate::vendor::VirtualMediaMethod;
use crate::wire;

/// One virtual media slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSlot {
    /// Its resource.
    pub path: String,
    /// `Id` (`CD`, `RemovableDisk`, `CD1`).
    pub id: String,
    /// `Name`.
    pub name: Option<String>,
    /// `Image` (URL) or `ImageName`.
    pub image: Option<String>,
    /// Whether media is inserted.
    pub inserted: bool,
    /// Whether it is a CD/DVD slot.
    pub is_cd: bool,
}

fn slot(path: &str, m: wire::VirtualMedia) -> MediaSlot {
    let id =
        m.id.clone()
            .unwrap_or_else(|| path.rsplit('/').next().unwrap_or_default().to_owned());
    let is_cd = m.media_types.iter().any(|t| t == "CD" || t == "DVD")
        || id.to_ascii_uppercase().contains("CD");
    MediaSlot {
        path: path.to_owned(),
        is_cd,
        name: m.name,
        image: m.image.or(m.image_name).filter(|s| !s.is_empty()),
        inserted: m.inserted.unwrap_or(false),
        id,
    }
}

/// The virtual media collection a resource names: its `VirtualMedia` property, else
/// `Links.VirtualMedia`.
fn media_link(
    property: Option<&wire::Link>,
    links: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Option<String> {
    property
        .map(|l| l.id.clone())
        .filter(|p| !p.is_empty())
        .or_else(|| {
            links?
                .get("VirtualMedia")?
                .get("@odata.id")?
                .as_str()
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
        })
}

/// Splits an image URL into Supermicro's `Host` (`scheme://authority`) and `Path`.
#[must_use]
pub(crate) fn split_image_url(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let slash = rest.find('/')?;
    Some((
        format!("{scheme}://{}", &rest[..slash]),
        rest[slash..].to_owned(),
    ))
}

impl Bmc {
    /// Where the virtual media collection is: the Manager's `VirtualMedia`, its
    /// `Links.VirtualMedia` (some BMCs put it only there), the System's `VirtualMedia` and
    /// `Links.VirtualMedia`, then the conventional `{manager}/VirtualMedia` and
    /// `{system}/VirtualMedia` if the BMC serves them; Supermicro's legacy `VM1` last.
    async fn media_method(&self) -> Result<(VirtualMediaMethod, Option<String>), Error> {
        let (manager_path, system_path) =
            tokio::try_join!(self.manager_path(), self.system_path())?;
        let manager: wire::Manager = self.get(&manager_path).await?;
        if let Some(link) = media_link(manager.virtual_media.as_ref(), manager.links.as_ref()) {
            return Ok((VirtualMediaMethod::Dmtf, Some(link)));
        }
        let system: wire::ComputerSystem = self.get(&system_path).await?;
        if let Some(link) = media_link(system.virtual_media.as_ref(), system.links.as_ref()) {
            return Ok((VirtualMediaMethod::Dmtf, Some(link)));
        }
        let method = self.quirks().await?.virtual_media;
        if method == VirtualMediaMethod::SupermicroVm1 {
            return Ok((VirtualMediaMethod::SupermicroVm1, None));
        }
        for path in [
            format!("{manager_path}/VirtualMedia"),
            format!("{system_path}/VirtualMedia"),
        ] {
            match self.get::<wire::Collection>(&path).await {
                Ok(_) => return Ok((VirtualMediaMethod::Dmtf, Some(path))),
                // Absent: 404 (or another refusal of the path, 501 included).
                Err(e)
                    if e.status().is_some_and(|s| {
                        s.is_client_error() || s == http::StatusCode::NOT_IMPLEMENTED
                    }) => {}
                Err(e) => return Err(e),
            }
        }
        Err(self.err_unsupported(
            "no VirtualMedia collection (looked in the Manager, its Links, the System, its \
             Links, {manager}/VirtualMedia and {system}/VirtualMedia)",
        ))
    }

    /// Supermicro legacy: (`VM1` path, `VirtualMediaConfig` path, member paths).
    async fn supermicro_vm1(&self) -> Result<(String, Vec<String>), Error> {
        let manager = self.manager_path().await?;
        let vm1: Value = self.get(&format!("{manager}/VM1")).await?;
        let config = vm1
            .pointer("/Oem/Supermicro/VirtualMediaConfig/@odata.id")
            .or_else(|| vm1.pointer("/Oem/VirtualMediaConfig/@odata.id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.err_unsupported("VM1 names no VirtualMediaConfig"))?;
        let members: wire::Collection = serde_json::from_value(vm1).unwrap_or_default();
        Ok((config, members.paths()))
    }

    /// The virtual media slots and what is inserted (`--check-virtual-media`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC without virtual media.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn virtual_media(&self) -> Result<Vec<MediaSlot>, Error> {
        if let (VirtualMediaMethod::Dmtf, Some(collection)) = self.media_method().await? {
            let media = self.members_all::<wire::VirtualMedia>(&collection).await?;
            return Ok(media.into_iter().map(|m| slot(&m.path, m.value)).collect());
        }
        // Supermicro's VM1 is no collection the BMC expands: its members one by one.
        let paths = self.supermicro_vm1().await?.1;
        let media = self.get_all::<wire::VirtualMedia>(paths).await?;
        Ok(media.into_iter().map(|m| slot(&m.path, m.value)).collect())
    }

    /// Mounts `image` (an `http(s)://` or `nfs://` URL) on the CD slot and verifies it shows
    /// as inserted (`--mount-virtual-media`).
    ///
    /// # Errors
    /// When there is no CD slot, the BMC refuses, or the image does not show as inserted.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), %image))]
    pub async fn mount_virtual_media(
        &self,
        image: &str,
        cancel: &CancellationToken,
    ) -> Result<MediaSlot, Error> {
        match self.media_method().await? {
            (VirtualMediaMethod::Dmtf, Some(collection)) => {
                let cd = self.cd_slot(&collection).await?;
                if cd.inserted && cd.image.as_deref() == Some(image) {
                    return Ok(cd);
                }
                let media: wire::VirtualMedia = self.get(&cd.path).await?;
                let target = media
                    .actions
                    .and_then(|a| a.insert)
                    .and_then(|t| t.target)
                    .unwrap_or_else(|| format!("{}/Actions/VirtualMedia.InsertMedia", cd.path));
                self.run_action(
                    &target,
                    &json!({"Image": image, "Inserted": true, "WriteProtected": true}),
                    cancel,
                )
                .await?;
                let after = slot(&cd.path, self.get(&cd.path).await?);
                if !after.inserted {
                    return Err(self.err_invalid("the image does not show as inserted"));
                }
                Ok(after)
            }
            _ => {
                let (config, _) = self.supermicro_vm1().await?;
                let (host, path) = split_image_url(image)
                    .ok_or_else(|| self.err_invalid(format!("{image} is not a URL")))?;
                self.patch(
                    &config,
                    &json!({"Host": host, "Path": path, "Username": "", "Password": ""}),
                )
                .await?;
                self.run_action(
                    &format!("{config}/Actions/IsoConfig.Mount"),
                    &json!({}),
                    cancel,
                )
                .await?;
                let slots = self.virtual_media().await?;
                slots
                    .into_iter()
                    .find(|s| s.inserted)
                    .ok_or_else(|| self.err_invalid("the image does not show as inserted"))
            }
        }
    }

    async fn cd_slot(&self, collection: &str) -> Result<MediaSlot, Error> {
        self.members_all::<wire::VirtualMedia>(collection)
            .await?
            .into_iter()
            .map(|m| slot(&m.path, m.value))
            .find(|s| s.is_cd)
            .ok_or_else(|| self.err_unsupported("no virtual CD slot"))
    }

    /// Ejects what is mounted (`--unmount-virtual-media`); returns how many slots were ejected.
    ///
    /// # Errors
    /// When the BMC refuses.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn unmount_virtual_media(&self, cancel: &CancellationToken) -> Result<usize, Error> {
        match self.media_method().await? {
            (VirtualMediaMethod::Dmtf, Some(_)) => {
                let mut ejected = 0;
                for s in self
                    .virtual_media()
                    .await?
                    .into_iter()
                    .filter(|s| s.inserted)
                {
                    let media: wire::VirtualMedia = self.get(&s.path).await?;
                    let target = media
                        .actions
                        .and_then(|a| a.eject)
                        .and_then(|t| t.target)
                        .unwrap_or_else(|| format!("{}/Actions/VirtualMedia.EjectMedia", s.path));
                    self.run_action(&target, &json!({}), cancel).await?;
                    ejected += 1;
                }
                Ok(ejected)
            }
            _ => {
                let (config, _) = self.supermicro_vm1().await?;
                let inserted = self
                    .virtual_media()
                    .await?
                    .iter()
                    .filter(|s| s.inserted)
                    .count();
                self.run_action(
                    &format!("{config}/Actions/IsoConfig.UnMount"),
                    &json!({}),
                    cancel,
                )
                .await?;
                self.patch(
                    &config,
                    &json!({"Host": "", "Path": "", "Username": "", "Password": ""}),
                )
                .await?;
                Ok(inserted)
            }
        }
    }

    /// One-time boot from the virtual CD (`--boot-to-virtual-media`): `UsbCd` where the BMC
    /// offers it (Supermicro), else `Cd`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when no CD is inserted.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn boot_to_virtual_media(&self) -> Result<SettingsChange, Error> {
        if !self
            .virtual_media()
            .await?
            .iter()
            .any(|s| s.inserted && s.is_cd)
        {
            return Err(self.err_invalid("no virtual CD is inserted"));
        }
        let system: wire::ComputerSystem = self.get(&self.system_path().await?).await?;
        let allowed = system.boot.map(|b| b.allowable_targets).unwrap_or_default();
        let target = if allowed.iter().any(|t| t == "UsbCd") {
            BootSource::UsbCd
        } else {
            BootSource::Cd
        };
        self.set_boot_override(&target, BootOverride::Once).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn image_urls_split_for_supermicro() {
        assert_eq!(
            split_image_url("http://10.0.0.5:8080/isos/rhel9.iso").unwrap(),
            (
                "http://10.0.0.5:8080".to_owned(),
                "/isos/rhel9.iso".to_owned()
            )
        );
        assert_eq!(split_image_url("rhel9.iso"), None);
    }

    #[test]
    fn cd_slots_by_media_type_or_id() {
        let m = |v: Value| serde_json::from_value::<wire::VirtualMedia>(v).unwrap();
        assert!(slot("/x/CD", m(json!({"Id": "CD"}))).is_cd);
        assert!(slot("/x/1", m(json!({"Id": "1", "MediaTypes": ["CD", "DVD"]}))).is_cd);
        assert!(!slot("/x/RemovableDisk", m(json!({"Id": "RemovableDisk"}))).is_cd);
        let s = slot(
            "/x/CD",
            m(json!({"Inserted": true, "Image": "http://h/a.iso"})),
        );
        assert!(s.inserted);
        assert_eq!(s.id, "CD");
        assert_eq!(s.image.as_deref(), Some("http://h/a.iso"));
    }
}
