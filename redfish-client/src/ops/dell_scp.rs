//! Dell's Server Configuration Profile (SCP): the manager's OEM actions
//! `ExportSystemConfiguration` and `ImportSystemConfiguration`, found in the manager's
//! `Actions.Oem` (Badfish's `--get-scp-targets`, `--export-scp`, `--import-scp`).
//!
//! The targets an action takes are its `ShareParameters.Target@Redfish.AllowableValues`. An
//! export (JSON, local share) answers 202 with a task whose monitor answers the profile itself
//! once done; it is polled within the task wait. An import sends the profile as
//! `ImportBuffer` with the host's power state, and its task is polled within the job wait (the
//! iDRAC applies it in a restart of its own) until its Dell `JobState` is final. A BMC whose
//! manager advertises no such action (any other vendor) gets [`Error::Unsupported`] and nothing
//! is posted.

use std::fmt;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::client::Bmc;
use crate::error::Error;
use crate::ops::PowerState;
use crate::request::Call;
use crate::wait::{Poll, poll_until};

/// Which SCP action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScpOperation {
    /// `ExportSystemConfiguration`.
    Export,
    /// `ImportSystemConfiguration`.
    Import,
}

impl ScpOperation {
    /// `Export` or `Import`, as Badfish's `--get-scp-targets` takes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Export => "Export",
            Self::Import => "Import",
        }
    }
}

impl fmt::Display for ScpOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an export includes read-only attributes (`IncludeInExport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScpReadOnly {
    /// `Default`: writable attributes only.
    #[default]
    Exclude,
    /// `IncludeReadOnly`.
    Include,
}

/// An exported profile and the job that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScpExport {
    /// The job's id (the last part of the task's path).
    pub job: String,
    /// The profile (`{"SystemConfiguration": …}`).
    pub profile: Value,
}

/// What an import came to (its Dell job, read at its end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScpImport {
    /// The job's id (the last part of the task's path).
    pub job: String,
    /// Its final `JobState` (`Completed`).
    pub state: String,
    /// Its message.
    pub message: String,
}

/// The Dell job inside an SCP task (`Oem.Dell`), when it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScpJobPoll {
    pub(crate) state: String,
    pub(crate) message: String,
    pub(crate) percent: u64,
}

/// Reads `Oem.Dell` of an SCP task.
pub(crate) fn scp_job(task: &Value) -> Option<ScpJobPoll> {
    let dell = task.get("Oem")?.get("Dell")?;
    Some(ScpJobPoll {
        state: dell.get("JobState")?.as_str()?.to_owned(),
        message: dell
            .get("Message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        percent: dell
            .get("PercentComplete")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

/// The manager's advertised entry for an SCP action (its key ends with `{op}SystemConfiguration`).
pub(crate) fn scp_action_entry(
    oem_actions: Option<&serde_json::Map<String, Value>>,
    op: ScpOperation,
) -> Option<&Value> {
    let suffix = format!("{}SystemConfiguration", op.as_str());
    oem_actions?
        .iter()
        .find(|(key, _)| key.ends_with(&suffix))
        .map(|(_, entry)| entry)
}

/// A job's id: the last part of its task's path.
fn job_id(task: &str) -> String {
    task.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Whether a job state is final and bad.
fn failed(state: &str) -> bool {
    matches!(state, "Failed" | "CompletedWithErrors")
}

impl Bmc {
    /// The manager's entry for an SCP action.
    async fn scp_entry(&self, op: ScpOperation) -> Result<Value, Error> {
        let doc = self.manager_doc().await?;
        scp_action_entry(doc.oem_actions.as_ref(), op).cloned().ok_or_else(|| {
            self.err_unsupported(format!(
                "Server Configuration Profile {op} (no {op}SystemConfiguration action on the manager)"
            ))
        })
    }

    /// The action's target (advertised, else the path iDRACs serve it at).
    async fn scp_target(&self, op: ScpOperation) -> Result<String, Error> {
        let entry = self.scp_entry(op).await?;
        if let Some(target) = entry.get("target").and_then(Value::as_str) {
            return Ok(self.inner.address.path_of(target));
        }
        let manager = self.manager_path().await?;
        Ok(format!(
            "{manager}/Actions/Oem/EID_674_Manager.{op}SystemConfiguration"
        ))
    }

    /// The keys of the manager's OEM actions (`Actions.Oem`), `None` when it has none at all
    /// (Badfish words the two absences of an SCP action differently).
    ///
    /// # Errors
    /// When the manager cannot be read.
    pub async fn manager_oem_actions(&self) -> Result<Option<Vec<String>>, Error> {
        let doc = self.manager_doc().await?;
        Ok(doc
            .oem_actions
            .as_ref()
            .map(|oem| oem.keys().cloned().collect()))
    }

    /// The targets an SCP action takes (`ShareParameters.Target@Redfish.AllowableValues`);
    /// empty when the action is there without the list.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the manager has no such action (not an iDRAC).
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn scp_targets(&self, op: ScpOperation) -> Result<Vec<String>, Error> {
        let entry = self.scp_entry(op).await?;
        Ok(entry
            .get("ShareParameters")
            .and_then(|s| s.get("Target@Redfish.AllowableValues"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Exports the Server Configuration Profile of `targets` (comma-separated, `ALL`) as JSON
    /// and waits for it: the profile (`{"SystemConfiguration": …}`) and its job's id.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without the action; the BMC's refusal; [`Error::JobFailed`]
    /// when the export fails; [`Error::Invalid`] when the BMC gives no task;
    /// [`Error::Timeout`], [`Error::Cancelled`].
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn export_scp(
        &self,
        targets: &str,
        read_only: ScpReadOnly,
        cancel: &CancellationToken,
    ) -> Result<ScpExport, Error> {
        let action = self.scp_target(ScpOperation::Export).await?;
        let include = match read_only {
            ScpReadOnly::Exclude => "Default",
            ScpReadOnly::Include => "IncludeReadOnly",
        };
        let body = json!({
            "ExportFormat": "JSON",
            "ExportUse": "Default",
            "IncludeInExport": include,
            "ShareParameters": {"Target": targets},
        });
        let task = self.scp_task(&action, &body).await?;
        let job = job_id(&task);
        let wait = self.inner.shared.config.waits.task;
        poll_until(
            self.name(),
            &format!("export {task}"),
            wait,
            cancel,
            || async {
                let reply = self.execute(&Call::get(&task)).await?;
                if reply.status == http::StatusCode::ACCEPTED {
                    return Ok(Poll::Pending("running".to_owned()));
                }
                let answer: Value = reply.json()?;
                if answer.get("SystemConfiguration").is_some() {
                    return Ok(Poll::Ready(ScpExport {
                        job: job.clone(),
                        profile: answer,
                    }));
                }
                match scp_job(&answer) {
                    Some(job) if failed(&job.state) => Err(self.scp_failed(&task, job)),
                    Some(job) => Ok(Poll::Pending(format!("{} {}%", job.state, job.percent))),
                    None => Ok(Poll::Pending("no profile yet".to_owned())),
                }
            },
        )
        .await
    }

    /// Imports `profile` (the text of an exported profile) for `targets` and waits for the
    /// iDRAC to apply it (in a restart it does itself, graceful, back to the host's power
    /// state now).
    ///
    /// # Errors
    /// [`Error::Unsupported`] without the action; the BMC's refusal (a malformed profile);
    /// [`Error::JobFailed`] when the import fails or completes with errors;
    /// [`Error::Timeout`], [`Error::Cancelled`].
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn import_scp(
        &self,
        profile: &str,
        targets: &str,
        cancel: &CancellationToken,
    ) -> Result<ScpImport, Error> {
        let action = self.scp_target(ScpOperation::Import).await?;
        let power = match self.power_state().await? {
            PowerState::On => "On",
            _ => "Off",
        };
        let body = json!({
            "ImportBuffer": profile,
            "ShutdownType": "Graceful",
            "HostPowerState": power,
            "ShareParameters": {"Target": targets},
        });
        let task = self.scp_task(&action, &body).await?;
        let id = job_id(&task);
        let wait = self.inner.shared.config.waits.job;
        poll_until(
            self.name(),
            &format!("import {task}"),
            wait,
            cancel,
            || async {
                let reply = self.execute(&Call::get(&task)).await?;
                let answer: Value = reply.json()?;
                match scp_job(&answer) {
                    Some(job) if failed(&job.state) => Err(self.scp_failed(&task, job)),
                    Some(job) if job.state == "Completed" => Ok(Poll::Ready(ScpImport {
                        job: id.clone(),
                        state: job.state,
                        message: job.message,
                    })),
                    Some(job) => Ok(Poll::Pending(format!("{} {}%", job.state, job.percent))),
                    None => Ok(Poll::Pending("no job state yet".to_owned())),
                }
            },
        )
        .await
    }

    /// POSTs an SCP action: the path of the task it started (its `Location`).
    async fn scp_task(&self, action: &str, body: &Value) -> Result<String, Error> {
        let reply = self.post(action, body).await?;
        let location = reply
            .location()
            .ok_or_else(|| self.err_invalid(format!("{action} answered no task (Location)")))?;
        Ok(self.inner.address.path_of(&location))
    }

    fn scp_failed(&self, task: &str, job: ScpJobPoll) -> Error {
        Error::JobFailed {
            bmc: self.name().to_owned(),
            kind: "task",
            id: task.to_owned(),
            state: job.state,
            message: job.message,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn actions_are_found_by_their_key_s_end() {
        let manager = json!({"Actions": {"Oem": {
            "#OemManager.v1_4_0.ExportSystemConfiguration": {"target": "/e"},
            "#OemManager.v1_4_0.ImportSystemConfigurationPreview": {"target": "/p"},
            "#OemManager.v1_4_0.ImportSystemConfiguration": {"target": "/i"},
        }}});
        let oem = manager.pointer("/Actions/Oem").and_then(Value::as_object);
        let target = |op| scp_action_entry(oem, op).unwrap()["target"].clone();
        assert_eq!(target(ScpOperation::Export), "/e");
        assert_eq!(target(ScpOperation::Import), "/i");
        assert!(scp_action_entry(None, ScpOperation::Export).is_none());
    }

    #[test]
    fn the_dell_job_of_a_task_is_read() {
        let task = json!({"Oem": {"Dell": {"JobState": "Running", "PercentComplete": 40,
            "Message": "Applying"}}});
        assert_eq!(
            scp_job(&task),
            Some(ScpJobPoll {
                state: "Running".into(),
                message: "Applying".into(),
                percent: 40
            })
        );
        assert_eq!(scp_job(&json!({"TaskState": "Running"})), None);
        assert!(failed("CompletedWithErrors") && failed("Failed") && !failed("Completed"));
    }
}
