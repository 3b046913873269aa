//! Dell OEM actions of the Lifecycle Controller (`DellLCService`): the server screenshot, and
//! whether the Lifecycle Controller takes configuration (the wait after it restarts). Other
//! vendors refuse them with [`Error::Unsupported`].

use base64::Engine as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::client::Bmc;
use crate::error::Error;
use crate::request::Call;
use crate::vendor::DellResource;
use crate::wait::{Poll, poll_until};
use crate::wire;

/// The state an answer of `DellLCService.GetRemoteServicesAPIStatus` gives the Lifecycle
/// Controller: its `LCStatus`, else the overall `Status`; `None` when it shows neither.
fn lc_state(answer: wire::DellLcStatus) -> Option<String> {
    answer.lc.or(answer.status).filter(|s| !s.is_empty())
}

/// The image of a `DellLCService.ExportServerScreenShot` answer: its base64 text decoded
/// (line breaks and blanks ignored, as iDRACs may wrap it). `None` when the answer holds no
/// image or the text is not base64.
#[must_use]
pub(crate) fn decode_screenshot(answer: &wire::DellScreenshot) -> Option<Vec<u8>> {
    let text: String = answer
        .file
        .as_deref()?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if text.is_empty() {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

impl Bmc {
    /// The server's screen as the iDRAC captures it (`DellLCService.ExportServerScreenShot`,
    /// `FileType` `ServerScreenShot`): the image's bytes (PNG).
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC without `DellLCService` (not a Dell iDRAC);
    /// [`Error::Invalid`] when the answer holds no image; the BMC's refusal otherwise.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn screenshot(&self) -> Result<Vec<u8>, Error> {
        let service = self.dell_path(DellResource::LcService).await?;
        let action = format!("{service}/Actions/DellLCService.ExportServerScreenShot");
        let reply = self
            .post(&action, &json!({"FileType": "ServerScreenShot"}))
            .await?;
        let answer: wire::DellScreenshot = reply.json()?;
        decode_screenshot(&answer)
            .ok_or_else(|| self.err_invalid("the screenshot answer holds no base64 image"))
    }

    /// The Lifecycle Controller's state as the iDRAC spells it (`Ready`, `NotReady`...), from
    /// `DellLCService.GetRemoteServicesAPIStatus` (a query: retried like a read); `None` when
    /// the answer shows none.
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC without `DellLCService` (not a Dell iDRAC); the BMC's
    /// refusal otherwise.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn lc_status(&self) -> Result<Option<String>, Error> {
        // boxed: `execute` comes here (through `wait_lc_ready`) for a write refused as not ready
        let service = Box::pin(self.dell_path(DellResource::LcService)).await?;
        let call = Call::query(
            format!("{service}/Actions/DellLCService.GetRemoteServicesAPIStatus"),
            &json!({}),
        );
        let reply = Box::pin(self.execute(&call)).await?;
        Ok(lc_state(reply.json()?))
    }

    /// Waits on tokio's clock, within `waits.lc_ready`, until the Lifecycle Controller is
    /// `Ready`: after `JID_CLEARALL_FORCE`, which restarts it, and before a write it refused
    /// as not ready is sent again (Dell's "iDRAC is not ready", `SWC0700`, for as long as the
    /// restart lasts: minutes on a real iDRAC). True once it is ready; false at once where
    /// there is nothing to wait on (no `DellLCService`, or an answer that shows no state).
    ///
    /// # Errors
    /// [`Error::Timeout`] when it is not ready by then, [`Error::Cancelled`] on `cancel`; the
    /// BMC's refusal of the status action.
    pub(crate) async fn wait_lc_ready(&self, cancel: &CancellationToken) -> Result<bool, Error> {
        let waited = poll_until(
            self.name(),
            "the Lifecycle Controller to be ready",
            self.waits().lc_ready,
            cancel,
            || async {
                Ok(match self.lc_status().await? {
                    Some(state) if state == "Ready" => Poll::Ready(true),
                    Some(state) => Poll::Pending(format!("LCStatus {state}")),
                    None => Poll::Ready(false),
                })
            },
        )
        .await;
        match waited {
            // not retryable: the first poll ends the wait
            Err(Error::Unsupported { .. }) => Ok(false),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_lifecycle_controller_state_is_lc_status_else_status() {
        let answer = |text: &str| serde_json::from_str::<wire::DellLcStatus>(text).unwrap();
        let both = answer(r#"{"LCStatus":"NotReady","RTStatus":"Ready","Status":"Ready"}"#);
        assert_eq!(lc_state(both).as_deref(), Some("NotReady"));
        assert_eq!(
            lc_state(answer(r#"{"Status":"Ready"}"#)).as_deref(),
            Some("Ready")
        );
        assert_eq!(
            lc_state(answer(r#"{"LCStatus":"","RTStatus":"Ready"}"#)),
            None
        );
    }

    #[test]
    fn wrapped_base64_is_decoded_and_a_missing_image_is_none() {
        let answer = wire::DellScreenshot {
            file: Some("iVBO\nRw0K\r\nGgo=".into()),
        };
        assert_eq!(
            decode_screenshot(&answer).unwrap(),
            b"\x89PNG\r\n\x1a\n".to_vec()
        );
        assert_eq!(decode_screenshot(&wire::DellScreenshot::default()), None);
        let bad = wire::DellScreenshot {
            file: Some("not base64!".into()),
        };
        assert_eq!(decode_screenshot(&bad), None);
    }
}
