//! The Dell job queue: list, inspect, clear (DellJobService, falling back to DELETE), create a
//! config job for a settings resource, and wait for a job to reach a state with a deadline.

use std::fmt;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::client::{Bmc, Member};
use crate::error::Error;
use crate::vendor::DellResource;
use crate::wait::{Poll, poll_until};
use crate::wire;

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Created, not yet scheduled.
    New,
    /// Waiting for its time (a config job waits for the next POST).
    Scheduled,
    /// Being applied.
    Running,
    /// Done.
    Completed,
    /// Done, some parts failed.
    CompletedWithErrors,
    /// Not applied.
    Failed,
    /// Anything else (`Downloading`, `Paused`, ...), as spelled by the BMC.
    Other(String),
}

impl JobState {
    /// Reads `JobState`, or the message when the state is missing.
    #[must_use]
    pub fn parse(state: Option<&str>, message: Option<&str>) -> Self {
        match state {
            Some("New") => Self::New,
            Some("Scheduled" | "ReadyForExecution") => Self::Scheduled,
            Some("Running") => Self::Running,
            Some("Completed") => Self::Completed,
            Some("CompletedWithErrors") => Self::CompletedWithErrors,
            Some("Failed" | "Exception" | "Killed" | "Cancelled") => Self::Failed,
            Some(other) => Self::Other(other.to_owned()),
            None => {
                let m = message.unwrap_or_default().to_ascii_lowercase();
                if m.contains("fail") {
                    Self::Failed
                } else if m.contains("completed successfully") {
                    Self::Completed
                } else if m.contains("scheduled") {
                    Self::Scheduled
                } else {
                    Self::Other(message.unwrap_or("unknown").to_owned())
                }
            }
        }
    }

    /// Whether the job is finished, well or badly.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Completed | Self::CompletedWithErrors | Self::Failed
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::New => f.write_str("New"),
            Self::Scheduled => f.write_str("Scheduled"),
            Self::Running => f.write_str("Running"),
            Self::Completed => f.write_str("Completed"),
            Self::CompletedWithErrors => f.write_str("CompletedWithErrors"),
            Self::Failed => f.write_str("Failed"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// One BMC job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// `JID_...` / `RID_...`.
    pub id: String,
    /// Its name (`Configure: BIOS.Setup.1-1`).
    pub name: Option<String>,
    /// Its state.
    pub state: JobState,
    /// Its message (`Task successfully scheduled.`).
    pub message: Option<String>,
    /// Percent complete.
    pub percent: Option<u64>,
}

impl Job {
    pub(crate) fn from_wire(fallback_id: &str, job: wire::DellJob) -> Self {
        Self {
            id: job.id.unwrap_or_else(|| fallback_id.to_owned()),
            state: JobState::parse(job.job_state.as_deref(), job.message.as_deref()),
            name: job.name,
            message: job.message,
            percent: job.percent_complete,
        }
    }
}

/// The state [`Bmc::wait_job`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobTarget {
    /// Accepted by the BMC and waiting for the next POST (or further along).
    Scheduled,
    /// Applied.
    Completed,
}

/// How hard to clear the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearJobs {
    /// Delete the jobs (`JID_CLEARALL`); nothing is sent when no job is pending.
    Pending,
    /// Delete everything and restart the Lifecycle Controller (`JID_CLEARALL_FORCE`), even
    /// when the queue looks empty (a stuck job may hide there).
    Force,
}

/// What a queue clear found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueClear {
    /// Nothing was pending; nothing was sent.
    AlreadyEmpty,
    /// The queue was cleared and verified empty.
    Cleared,
}

/// The job id at the end of a `Location` (`/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_1`).
#[must_use]
pub(crate) fn job_id_from_location(location: &str) -> Option<String> {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

impl Bmc {
    /// Every job in the queue, with its state.
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC without a Dell job queue.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn jobs(&self) -> Result<Vec<Job>, Error> {
        // The probe that finds the queue reads it: its list is used (an empty queue costs
        // nothing more); a known queue is read expanded where the iDRAC offers it.
        let jobs: Vec<Member<wire::DellJob>> = match self.dell_probe(DellResource::Jobs).await? {
            (path, Some(probe)) => {
                let listed = probe.json::<wire::Collection>()?.paths();
                self.members_listed(&path, listed).await?
            }
            (path, None) => self.members_all(&path).await?,
        };
        Ok(jobs
            .into_iter()
            .map(|m| Job::from_wire(&job_id_from_location(&m.path).unwrap_or_default(), m.value))
            .collect())
    }

    /// One job.
    ///
    /// # Errors
    /// When it cannot be read (404 for an unknown id).
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), job = %id))]
    pub async fn job(&self, id: &str) -> Result<Job, Error> {
        let collection = self.dell_path(DellResource::Jobs).await?;
        let job: wire::DellJob = self.get(&format!("{collection}/{id}")).await?;
        Ok(Job::from_wire(id, job))
    }

    /// Clears the job queue, then waits until no job is pending; after a forced clear, also
    /// until the Lifecycle Controller it restarted takes configuration again.
    ///
    /// # Errors
    /// When the clear is refused, or the queue does not empty or the Lifecycle Controller is
    /// not ready within the deadline.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), ?mode))]
    pub async fn clear_jobs(
        &self,
        mode: ClearJobs,
        cancel: &CancellationToken,
    ) -> Result<QueueClear, Error> {
        let pending = self.pending_jobs().await?;
        if pending.is_empty() && mode == ClearJobs::Pending {
            return Ok(QueueClear::AlreadyEmpty);
        }
        let job_id = match mode {
            ClearJobs::Pending => "JID_CLEARALL",
            ClearJobs::Force => "JID_CLEARALL_FORCE",
        };
        match self.dell_path(DellResource::JobService).await {
            Ok(service) => {
                let action = format!("{service}/Actions/DellJobService.DeleteJobQueue");
                self.post(&action, &json!({"JobID": job_id})).await?;
            }
            Err(Error::Unsupported { .. }) => {
                let collection = self.dell_path(DellResource::Jobs).await?;
                if let Err(e) = self
                    .delete(&format!("{collection}/JID_CLEARALL_FORCE"))
                    .await
                {
                    tracing::debug!(error = %e, "bulk delete refused, deleting one by one");
                    for job in &pending {
                        self.delete(&format!("{collection}/{}", job.id)).await?;
                    }
                }
            }
            Err(e) => return Err(e),
        }
        let wait = self.waits().job_queue_clear;
        poll_until(self.name(), "an empty job queue", wait, cancel, || async {
            let pending = self.pending_jobs().await?;
            Ok(if pending.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending(format!(
                    "{} pending: {}",
                    pending.len(),
                    pending
                        .iter()
                        .map(|j| format!("{} {}", j.id, j.state))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .await?;
        if mode == ClearJobs::Force {
            // the forced clear restarts the Lifecycle Controller: configuration writes are
            // refused as not ready until it is back
            self.wait_lc_ready(cancel).await?;
        }
        Ok(QueueClear::Cleared)
    }

    async fn pending_jobs(&self) -> Result<Vec<Job>, Error> {
        Ok(self
            .jobs()
            .await?
            .into_iter()
            .filter(|j| !j.state.is_finished())
            .collect())
    }

    /// Creates a config job that applies `target_settings` (a `.../Settings` resource path)
    /// at the next reboot; returns the job id.
    ///
    /// # Errors
    /// When the BMC refuses (nothing pending, a job already exists) or names no job.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), target = %target_settings))]
    pub async fn create_config_job(&self, target_settings: &str) -> Result<String, Error> {
        let collection = self.dell_path(DellResource::Jobs).await?;
        let reply = self
            .post(&collection, &json!({"TargetSettingsURI": target_settings}))
            .await?;
        reply
            .location()
            .and_then(|l| job_id_from_location(&l))
            .or_else(|| reply.json::<wire::DellJob>().ok().and_then(|j| j.id))
            .ok_or_else(|| self.err_invalid("the job was created but its id was not returned"))
    }

    /// Polls a job until it reaches `target`, within the job deadline.
    ///
    /// # Errors
    /// [`Error::JobFailed`] when it fails, [`Error::Timeout`], [`Error::Cancelled`].
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), job = %id, ?target))]
    pub async fn wait_job(
        &self,
        id: &str,
        target: JobTarget,
        cancel: &CancellationToken,
    ) -> Result<Job, Error> {
        let wait = self.waits().job;
        poll_until(
            self.name(),
            &format!("job {id} {target:?}"),
            wait,
            cancel,
            || async {
                let job = self.job(id).await?;
                match (&job.state, target) {
                    (JobState::Failed | JobState::CompletedWithErrors, _) => {
                        Err(Error::JobFailed {
                            bmc: self.name().to_owned(),
                            kind: "job",
                            id: id.to_owned(),
                            state: job.state.to_string(),
                            message: job.message.clone().unwrap_or_default(),
                        })
                    }
                    (JobState::Completed, _)
                    | (JobState::Scheduled | JobState::Running, JobTarget::Scheduled) => {
                        Ok(Poll::Ready(job))
                    }
                    (state, _) => Ok(Poll::Pending(match &job.message {
                        Some(m) => format!("{state}: {m}"),
                        None => state.to_string(),
                    })),
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_from_state_or_message() {
        assert_eq!(
            JobState::parse(Some("Scheduled"), None),
            JobState::Scheduled
        );
        assert_eq!(
            JobState::parse(Some("Completed"), None),
            JobState::Completed
        );
        assert_eq!(
            JobState::parse(None, Some("Job completed successfully.")),
            JobState::Completed
        );
        assert_eq!(JobState::parse(None, Some("Job failed.")), JobState::Failed);
        assert_eq!(
            JobState::parse(Some("Downloading"), None),
            JobState::Other("Downloading".into())
        );
        assert!(JobState::CompletedWithErrors.is_finished());
        assert!(!JobState::Scheduled.is_finished());
    }

    #[test]
    fn job_ids_from_locations() {
        assert_eq!(
            job_id_from_location("/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_123").as_deref(),
            Some("JID_123")
        );
        assert_eq!(
            job_id_from_location("https://h/redfish/v1/TaskService/Tasks/JID_9/").as_deref(),
            Some("JID_9")
        );
        assert_eq!(job_id_from_location(""), None);
    }
}
