//! Dell OEM actions of the Lifecycle Controller (`DellLCService`): the server screenshot.
//! Other vendors refuse them with [`Error::Unsupported`].

use base64::Engine as _;
use serde_json::json;

use crate::client::Bmc;
use crate::error::Error;
use crate::vendor::DellResource;
use crate::wire;

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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
