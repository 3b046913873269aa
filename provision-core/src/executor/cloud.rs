//! Cloud-level steps: each target cloud's Foreman user (login = cloud name, password
//! `{infra_location}@{ticket}`), role and filter, run once per cloud before its hosts need it.
//! Concurrent hosts of one cloud wait on the one execution; its result (the owner id, or why it
//! failed) is shared by all of them for the rest of the run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;
use tracing::Instrument as _;

use super::ports::{
    CloudUserSpec, ForemanPort, Ledger, PortError, RetiredUser, RetiredUserSpec, classify,
};
use super::run::Shared;
use super::step_details::RunDetails;
use crate::config::Secret;
use crate::journal::StepAttempt;
use crate::model::{AssignmentSpec, CloudName, RunId, Step, StepOutcome, Subject};
use crate::retry::{Idempotency, RetryPolicy, retry};

/// The result of a cloud's setup: the owner id of its hosts, or the error message.
type CloudResult = Result<u64, String>;

/// One setup per cloud, shared by its hosts.
#[derive(Debug, Default)]
pub struct CloudSetups {
    cells: Mutex<HashMap<CloudName, Arc<OnceCell<CloudResult>>>>,
    /// The Foreman user owning the spare pool's hosts, looked up once.
    spare_owner: OnceCell<CloudResult>,
}

/// The password of a cloud's tenant accounts (Foreman user and BMC user).
#[must_use]
pub fn tenant_password(infra_location: &str, assignment: &AssignmentSpec) -> Secret {
    Secret::new(format!("{infra_location}@{}", assignment.ticket))
}

/// A password nobody is told and nothing keeps, for an account whose tenant left: 20 letters
/// and digits (about 119 bits, within every BMC's length limit, with an upper-case letter, a
/// lower-case letter and a digit for BMCs with complexity rules), from the operating system's
/// random source.
#[must_use]
pub(crate) fn throwaway_password() -> Secret {
    use rand::{Rng as _, SeedableRng as _};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::StdRng::from_os_rng();
    loop {
        let text: String = (0..20)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        let has = |f: fn(&char) -> bool| text.chars().any(|c| f(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
        {
            return Secret::new(text);
        }
    }
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
        // boxed: the setup's future (Foreman calls) exists once per cloud; inline it would
        // make every host's task as large as it for the whole run
        cell.get_or_init(|| Box::pin(ensure(shared, cloud, assignment).instrument(span)))
            .await
            .clone()
    }
}

impl CloudSetups {
    /// The Foreman id of the spare pool's owner (`spare_owner`, or the run's own user), looked
    /// up on first use.
    ///
    /// # Errors
    /// Why it could not be found (the same for every host).
    pub async fn spare_owner(&self, shared: &Shared) -> Result<u64, String> {
        self.spare_owner
            .get_or_init(|| async {
                let login = shared.config.spare_owner.as_deref();
                shared.foreman.user_id(login).await.map_err(|e| {
                    format!(
                        "the spare pool's foreman owner {}: {e}",
                        login.unwrap_or("(the run's own user)")
                    )
                })
            })
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
    let details = || {
        RunDetails::CloudUser {
            login: cloud.to_string(),
            user_id: None,
        }
        .render()
    };
    let result = retry(
        &shared.config.steps.cloud_user,
        shared.shutdown.aborted(),
        Idempotency::IdempotentWrite.classify(classify),
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
                                RunDetails::CloudUser {
                                    login: cloud.to_string(),
                                    user_id: Some(user.user_id),
                                }
                                .render(),
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

/// A cloud whose tenant is out (no assignment holds a host in it now).
#[derive(Debug, Clone)]
pub struct CloudLeft {
    /// The cloud (its Foreman user has its name).
    pub cloud: CloudName,
    /// Its newest assignment, whose password must no longer open Foreman.
    pub last: Option<AssignmentSpec>,
}

/// What retiring the Foreman users of clouds whose tenant is out needs.
#[derive(Debug, Clone)]
pub struct Retirement {
    /// The run journaled under.
    pub run: RunId,
    /// Foreman.
    pub foreman: Arc<dyn ForemanPort>,
    /// The journal.
    pub ledger: Arc<dyn Ledger>,
    /// Tenant passwords are `{infra_location}@{ticket}`.
    pub infra_location: String,
    /// Retries of each cloud's retirement.
    pub policy: RetryPolicy,
}

/// Retires the Foreman user of every cloud in `clouds` (check, act if needed, verify:
/// disabled, a password nobody keeps, the last tenant's password refused), one cloud at a
/// time, journaled per cloud. Returns the clouds whose user was retired now; a cloud that
/// fails is logged and left for the next run.
pub async fn retire_clouds(
    retirement: &Retirement,
    clouds: Vec<CloudLeft>,
    cancel: &tokio_util::sync::CancellationToken,
) -> Vec<CloudName> {
    let mut retired = Vec::new();
    for left in clouds {
        let span = tracing::info_span!("cloud", cloud = %left.cloud, step = "cloud-retire");
        let spec = RetiredUserSpec {
            login: left.cloud.to_string(),
            last_password: left
                .last
                .as_ref()
                .map(|a| tenant_password(&retirement.infra_location, a)),
        };
        let result = retire_one(retirement, &left.cloud, &spec, cancel)
            .instrument(span.clone())
            .await;
        span.in_scope(|| match result {
            Ok(RetiredUser::Retired) => {
                tracing::info!("foreman user of a cloud with no tenant retired");
                retired.push(left.cloud.clone());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot retire the foreman user"),
        });
    }
    retired
}

async fn retire_one(
    r: &Retirement,
    cloud: &CloudName,
    spec: &RetiredUserSpec,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<RetiredUser, PortError> {
    let at = |attempt| StepAttempt {
        run: r.run,
        subject: Subject::Cloud(cloud.clone()),
        step: Step::CloudRetire,
        attempt,
    };
    let details = || {
        RunDetails::CloudUser {
            login: cloud.to_string(),
            user_id: None,
        }
        .render()
    };
    let result = retry(
        &r.policy,
        cancel,
        Idempotency::IdempotentWrite.classify(classify),
        |attempt| async move {
            r.ledger.intent(&at(attempt), details()).await?;
            let done = r.foreman.retire_cloud_user(spec).await;
            let (outcome, error) = match &done {
                Ok(RetiredUser::Retired) => (StepOutcome::Verified, None),
                Ok(_) => (StepOutcome::AlreadyDone, None),
                Err(e) => (StepOutcome::Failed, Some(e.message.clone())),
            };
            r.ledger
                .outcome(&at(attempt), outcome, error, details())
                .await?;
            done
        },
    )
    .await;
    result.map_err(|e| {
        e.into_last_error()
            .unwrap_or_else(|| PortError::retryable("cancelled or timed out"))
    })
}
