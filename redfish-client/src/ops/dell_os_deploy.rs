//! Dell's OS Deployment service (`DellOSDeploymentService`): an ISO image on an NFS share
//! attached to the host as its CD and booted once (`BootToNetworkISO`), whether one is
//! attached (`GetAttachStatus`), and its detach (`DetachISOImage`). Badfish's
//! `--boot-remote-image`, `--check-remote-image` and `--detach-remote-image`.
//!
//! The service is at iDRAC9's `/redfish/v1/Dell/Systems/{id}/DellOSDeploymentService` or
//! iDRAC10's `{system}/Oem/Dell/DellOSDeploymentService`. Other vendors (and an iDRAC without
//! it) get [`Error::Unsupported`] and nothing is posted.

use std::fmt;

use serde_json::json;

use crate::client::Bmc;
use crate::error::Error;
use crate::vendor::DellResource;
use crate::wire;

/// An ISO image on an NFS share, written `SERVER:/share/path/image.iso` as Badfish takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsImage {
    /// The NFS server (`IPAddress`: an address or a host name).
    pub server: String,
    /// The directory, ending with `/` (`ShareName`).
    pub share: String,
    /// The file name (`ImageName`).
    pub image: String,
}

impl NfsImage {
    /// Parses `SERVER:/share/path/image.iso`: the server before the first `:`, the share up
    /// to the last `/`, the image after it (Badfish's split). The BMC checks the rest.
    ///
    /// # Errors
    /// [`Error::Config`] naming the path when a part is missing or holds a blank.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let wrong = |what: &str| Error::Config {
            reason: format!("NFS path {text:?}: {what} (expected SERVER:/share/path/image.iso)"),
        };
        if text.chars().any(char::is_whitespace) {
            return Err(wrong("blank in the path"));
        }
        let Some((server, path)) = text.split_once(':') else {
            return Err(wrong("no ':' after the server"));
        };
        if server.is_empty() {
            return Err(wrong("no server before ':'"));
        }
        let Some((dir, image)) = path.rsplit_once('/') else {
            return Err(wrong("no '/' in the share path"));
        };
        if image.is_empty() {
            return Err(wrong("no image file name after the last '/'"));
        }
        Ok(Self {
            server: server.to_owned(),
            share: format!("{dir}/"),
            image: image.to_owned(),
        })
    }
}

impl fmt::Display for NfsImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}{}", self.server, self.share, self.image)
    }
}

/// Whether a network ISO is attached (`ISOAttachStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsoAttachStatus {
    /// `Attached`.
    Attached,
    /// `NotAttached`.
    NotAttached,
    /// Another word the BMC used.
    Other(String),
}

impl IsoAttachStatus {
    fn from_wire(word: Option<&str>) -> Self {
        match word {
            Some("Attached") => Self::Attached,
            Some("NotAttached") => Self::NotAttached,
            Some(other) => Self::Other(other.to_owned()),
            None => Self::Other("None".to_owned()),
        }
    }
}

impl fmt::Display for IsoAttachStatus {
    /// The BMC's own word (`Attached`, `NotAttached`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Attached => f.write_str("Attached"),
            Self::NotAttached => f.write_str("NotAttached"),
            Self::Other(word) => f.write_str(word),
        }
    }
}

/// The answer of `GetAttachStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteImageStatus {
    /// The network ISO's status.
    pub iso: IsoAttachStatus,
    /// The driver pack's status (`DriversAttachStatus`), when the BMC gives it.
    pub drivers: Option<String>,
}

/// What `BootToNetworkISO` started: its task as read once after the answer (the task keeps
/// running while the image stays attached, so it is not waited for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteImageBoot {
    /// The task's path (the answer's `Location`), when the BMC gave one.
    pub task: Option<String>,
    /// Its `TaskState` (`Running`, ...).
    pub task_state: Option<String>,
    /// Its `TaskStatus` (`OK`).
    pub task_status: Option<String>,
}

impl Bmc {
    /// Whether a network ISO is attached (`DellOSDeploymentService.GetAttachStatus`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC without `DellOSDeploymentService`; the BMC's refusal
    /// otherwise.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn remote_image_status(&self) -> Result<RemoteImageStatus, Error> {
        let action = self.os_deployment_action("GetAttachStatus").await?;
        let answer: wire::DellAttachStatus = self.post(&action, &json!({})).await?.json()?;
        Ok(RemoteImageStatus {
            iso: IsoAttachStatus::from_wire(answer.iso.as_deref()),
            drivers: answer.drivers,
        })
    }

    /// Attaches `image` (NFS) as the host's CD and boots it once
    /// (`DellOSDeploymentService.BootToNetworkISO`), then reads the task the BMC started.
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC without `DellOSDeploymentService`; the BMC's refusal
    /// (an image already attached, a share or image it does not accept); [`Error::JobFailed`]
    /// when the task's status is not `OK`.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn boot_remote_image(&self, image: &NfsImage) -> Result<RemoteImageBoot, Error> {
        let action = self.os_deployment_action("BootToNetworkISO").await?;
        let body = json!({
            "ShareType": "NFS",
            "IPAddress": image.server,
            "ShareName": image.share,
            "ImageName": image.image,
        });
        let reply = self.post(&action, &body).await?;
        let Some(location) = reply.location() else {
            return Ok(RemoteImageBoot::default());
        };
        let path = self.inner.address.path_of(&location);
        let task: wire::Task = self.get(&path).await?;
        if let Some(status) = task.task_status.as_deref()
            && status != "OK"
        {
            return Err(Error::JobFailed {
                bmc: self.name().to_owned(),
                kind: "task",
                id: path,
                state: task.task_state.unwrap_or_else(|| status.to_owned()),
                message: format!("OS deployment task status {status}"),
            });
        }
        Ok(RemoteImageBoot {
            task: Some(path),
            task_state: task.task_state,
            task_status: task.task_status,
        })
    }

    /// Detaches the network ISO (`DellOSDeploymentService.DetachISOImage`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC without `DellOSDeploymentService`; the BMC's refusal
    /// (an iDRAC refuses when no image is attached).
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn detach_remote_image(&self) -> Result<(), Error> {
        let action = self.os_deployment_action("DetachISOImage").await?;
        self.post(&action, &json!({})).await?;
        Ok(())
    }

    /// The target of one action of the OS Deployment service.
    async fn os_deployment_action(&self, name: &str) -> Result<String, Error> {
        let service = self.dell_path(DellResource::OsDeploymentService).await?;
        Ok(format!("{service}/Actions/DellOSDeploymentService.{name}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn nfs_paths_split_as_badfish_splits_them() {
        let image = NfsImage::parse("10.1.2.3:/exports/isos/rhel-9.iso").unwrap();
        assert_eq!(image.server, "10.1.2.3");
        assert_eq!(image.share, "/exports/isos/");
        assert_eq!(image.image, "rhel-9.iso");
        assert_eq!(image.to_string(), "10.1.2.3:/exports/isos/rhel-9.iso");
        for bad in [
            "rhel.iso",
            ":/exports/rhel.iso",
            "nfs:rhel.iso",
            "nfs:/exports/",
            "nfs:/exp orts/rhel.iso",
        ] {
            let e = NfsImage::parse(bad).unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn attach_words_are_kept() {
        assert_eq!(
            IsoAttachStatus::from_wire(Some("Attached")),
            IsoAttachStatus::Attached
        );
        assert_eq!(
            IsoAttachStatus::from_wire(Some("Detaching")).to_string(),
            "Detaching"
        );
    }
}
