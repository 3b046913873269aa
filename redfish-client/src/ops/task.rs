//! Actions and the tasks they may start: a POST that answers 202 with a `Location` is followed
//! through the task (polled with a deadline), never posted again.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::client::Bmc;
use crate::error::Error;
use crate::request::Call;
use crate::wait::{Poll, poll_until};
use crate::wire;

/// How a Redfish task ends, read from one poll of its monitor or resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskPoll {
    /// Still running (the text is the state).
    Running(String),
    /// Done well.
    Completed,
    /// Done badly: state and message.
    Failed(String, String),
}

/// Reads a task poll: a monitor answering 202 is running; a `Task` body tells its state; any
/// other success body is the action's final answer.
pub(crate) fn read_task(status: http::StatusCode, body: &[u8]) -> TaskPoll {
    if status == http::StatusCode::ACCEPTED {
        return TaskPoll::Running("accepted".to_owned());
    }
    let task: wire::Task = serde_json::from_slice(body).unwrap_or_default();
    let Some(state) = task.task_state else {
        return TaskPoll::Completed;
    };
    let message = task
        .messages
        .iter()
        .filter_map(|m| m.get("Message").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("; ");
    match state.as_str() {
        "Completed" if task.task_status.as_deref() != Some("Critical") => TaskPoll::Completed,
        "Completed" | "Exception" | "Killed" | "Cancelled" | "Interrupted" => {
            TaskPoll::Failed(state, message)
        }
        _ => TaskPoll::Running(match task.percent_complete {
            Some(p) => format!("{state} {p}%"),
            None => state,
        }),
    }
}

impl Bmc {
    /// POSTs an action; when it answers 202 with a `Location`, waits for that task.
    pub(crate) async fn run_action(
        &self,
        path: &str,
        body: &Value,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        let reply = self.post(path, body).await?;
        if reply.status == http::StatusCode::ACCEPTED
            && let Some(location) = reply.location()
        {
            let task = self.inner.address.path_of(&location);
            self.wait_task(&task, cancel).await?;
        }
        Ok(())
    }

    /// Polls a task (or task monitor) until it ends, within the task deadline.
    ///
    /// # Errors
    /// [`Error::JobFailed`] when it ends badly, [`Error::Timeout`], [`Error::Cancelled`].
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), task = %path))]
    pub async fn wait_task(&self, path: &str, cancel: &CancellationToken) -> Result<(), Error> {
        let wait = self.inner.shared.config.waits.task;
        poll_until(
            self.name(),
            &format!("task {path}"),
            wait,
            cancel,
            || async {
                let reply = match self.execute(&Call::get(path)).await {
                    Ok(reply) => reply,
                    // Some BMCs delete a task as soon as it completes.
                    Err(e) if e.is_not_found() => return Ok(Poll::Ready(())),
                    Err(e) => return Err(e),
                };
                match read_task(reply.status, &reply.body) {
                    TaskPoll::Completed => Ok(Poll::Ready(())),
                    TaskPoll::Running(state) => Ok(Poll::Pending(state)),
                    TaskPoll::Failed(state, message) => Err(Error::JobFailed {
                        bmc: self.name().to_owned(),
                        kind: "task",
                        id: path.to_owned(),
                        state,
                        message,
                    }),
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
    fn task_states() {
        use http::StatusCode as S;
        assert_eq!(
            read_task(S::ACCEPTED, b""),
            TaskPoll::Running("accepted".into())
        );
        assert_eq!(
            read_task(S::OK, br#"{"TaskState":"Running","PercentComplete":40}"#),
            TaskPoll::Running("Running 40%".into())
        );
        assert_eq!(
            read_task(S::OK, br#"{"TaskState":"Completed","TaskStatus":"OK"}"#),
            TaskPoll::Completed
        );
        assert_eq!(
            read_task(
                S::OK,
                br#"{"TaskState":"Exception","Messages":[{"Message":"no media"}]}"#
            ),
            TaskPoll::Failed("Exception".into(), "no media".into())
        );
        assert_eq!(read_task(S::OK, br#"{"Id":"1"}"#), TaskPoll::Completed);
        assert_eq!(read_task(S::NO_CONTENT, b""), TaskPoll::Completed);
    }
}
