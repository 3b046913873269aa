//! Cloud-level steps: each target cloud's Foreman user (login = cloud name, password
//! `{infra_location}@{ticket}`), role and filter, run once per cloud before its hosts need it.
//! Concurrent hosts of one cloud wait on the one execution; its result (the owner id, or why it
//! failed) is shared by all of them for the rest of the run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;
use tracing::Instrument as _;

use super::ports::{CloudUserSpec, PortError};
use super::run::Shared;
use crate::config::Secret;
use crate::journal::{Details, StepAttempt};
use crate::model::{AssignmentSpec, CloudName, Step, StepOutcome, Subject};
use crate::retry::{Idempotency, Retryable, retry};

/// The result of a cloud's setup: the owner id of its hosts, or the error message.
type CloudResult = Result<u64, String>;

/// One setup per cloud, shared by its hosts.
#[derive(Debug, Default)]
pub struct CloudSetups {
    cells: Mutex<HashMap<CloudName, Arc<OnceCell<CloudResult>>>>,
}

/// The password of a cloud's tenant accounts (Foreman user and BMC user).
#[must_use]
pub fn tenant_password(infra_location: &str, assignment: &AssignmentSpec) -> Secret {
    Secret::new(format!("{infra_location}@{}", assignment.ticket))
}

impl CloudSetups {
    /// The owner id of `cloud`'s hosts, ensuring its user, role and filter on first use.
    ///
    /// # Errors
    /// The setup's error message (the same for every host of the cloud).
    pub async fn owner(
        &self,
        shared: &Shared,
        cloud: &CloudName,
        assignment: &AssignmentSpec,
    ) -> Result<u64, String> {
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(cloud.clone())
            .or_default()
            .clone();
        let span = tracing::info_span!("cloud", cloud = %cloud, step = "cloud-user");
        cell.get_or_init(|| ensure(shared, cloud, assignment).instrument(span))
            .await
            .clone()
    }
}

async fn ensure(shared: &Shared, cloud: &CloudName, assignment: &AssignmentSpec) -> CloudResult {
    let spec = CloudUserSpec {
        login: cloud.to_string(),
        mail: format!("{cloud}@{}", shared.config.mail_domain),
        password: tenant_password(&shared.infra_location, assignment),
        role: cloud.to_string(),
        host_permissions: shared.config.host_permissions.clone(),
    };
    let subject = Subject::Cloud(cloud.clone());
    let details = || Details::new().with("login", cloud.as_str());
    let result = retry(
        &shared.config.steps.cloud_user,
        shared.shutdown.aborted(),
        Idempotency::IdempotentWrite.classify(|e: &PortError| {
            if e.is_retryable() {
                Retryable::Yes
            } else {
                Retryable::No
            }
        }),
        |attempt| {
            let spec = &spec;
            let subject = subject.clone();
            async move {
                let at = StepAttempt {
                    run: shared.run,
                    subject,
                    step: Step::CloudUser,
                    attempt,
                };
                shared.ledger.intent(&at, details()).await?;
                let _lock = shared.limits.lock_foreman_object("user", &spec.login).await;
                let done = shared.foreman.ensure_cloud_user(spec).await;
                match &done {
                    Ok(user) => {
                        let outcome = if user.changed {
                            StepOutcome::Verified
                        } else {
                            StepOutcome::AlreadyDone
                        };
                        shared
                            .ledger
                            .outcome(
                                &at,
                                outcome,
                                None,
                                details().with("user_id", user.user_id.to_string()),
                            )
                            .await?;
                    }
                    Err(e) => {
                        shared
                            .ledger
                            .outcome(&at, StepOutcome::Failed, Some(e.message.clone()), details())
                            .await?;
                    }
                }
                done
            }
        },
    )
    .await;
    match result {
        Ok(user) => {
            tracing::info!(
                user_id = user.user_id,
                changed = user.changed,
                "cloud user ready"
            );
            Ok(user.user_id)
        }
        Err(e) => {
            let attempts = e.attempts();
            let message = match e.into_last_error() {
                Some(err) => err.message,
                None => "cancelled or timed out".to_owned(),
            };
            tracing::warn!(attempts, error = %message, "cloud user setup failed");
            Err(format!(
                "foreman user of cloud {cloud} failed after {attempts} attempt(s): {message}"
            ))
        }
    }
}
